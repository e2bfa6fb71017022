"""scripts/mutants' bookkeeping: which kills are deterministic, re-running
the racy ones, and the summary in results/mutants.json.

  python3 scripts/mutants.py repeat CRATE "PACKAGES" "FILTERS" N
  python3 scripts/mutants.py summarize CRATE ...

Reads cargo-mutants' output in target/mutants/<crate>/mutants.out.
"""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys

# Single-thread conformance checks that use no clock and no second thread:
# a store that fails one fails it every run.
DET_SINGLE = {
    "sequential_model",
    "ids_start_at_one_and_are_never_reused",
    "missing_ids_are_not_found",
    "invalid_input_is_refused",
    "snapshots_are_immutable",
    "sizes_past_every_boundary",
}
# Planted bugs (store-conformance/tests) that need no race to show.
DET_PLANTED = {
    "a_narrow_counter_fails_past_65536",
    "a_leaked_task_fails_the_drop_check",
    "a_reused_id_fails_the_id_rules",
    "an_upsert_fails_the_missing_id_rules",
    "a_stale_len_is_not_linearizable",
    "a_walk_that_stops_at_65536_fails_the_sizes_check",
}
# Unit tests that start threads or wait on a clock or an epoch.
RACY_UNIT = (
    "tests::an_update_leaves_readers_their_version_and_frees_it_later",
    "linearizable::tests::the_spin_barrier_holds_each_thread_until_all_arrive",
    "lifecycle::tests::",
    "watchdog::tests::",
)


# Tests removed since a run, and the tests that took their place.
RENAMED = {
    # Its checks run in the reference store's whole suite (catches_bugs.rs).
    "the_reference_store_passes_the_new_checks": "reference::",
}


def failed_tests(log):
    return sorted(set(re.findall(r"^test (\S+) \.\.\. FAILED", log, re.M)))


def kill_kind(log):
    """("deterministic", why) or ("racy", failed tests)."""
    failed = failed_tests(log)
    for t in failed:
        parts = t.split("::")
        if len(parts) >= 2 and parts[-2] == "conformance_single_thread" and parts[-1] in DET_SINGLE:
            return "deterministic", t
        if parts[-1] in DET_PLANTED:
            return "deterministic", t
        if re.search(r"(^|::)tests::", t) and not any(r in t for r in RACY_UNIT):
            return "deterministic", t
    if "has overflowed its stack" in log:
        return "deterministic", "stack overflow (unbounded recursion)"
    return "racy", failed


def outcomes(crate):
    """Each mutant's outcome: from target/mutants/CRATE, overridden by a
    second pass in target/mutants/CRATE-pass2 where there is one (RERUN=1:
    survivors and untested mutants re-tested after new tests)."""
    found = {}
    for d in (f"target/mutants/{crate}/mutants.out", f"target/mutants/{crate}-pass2/mutants.out"):
        if not os.path.isdir(d):
            if d.endswith(f"{crate}/mutants.out"):
                sys.exit(f"mutants: no results in {d}")
            continue
        second = "-pass2/" in d
        for oc in json.load(open(os.path.join(d, "outcomes.json")))["outcomes"]:
            if "Mutant" not in oc["scenario"]:
                continue
            log = open(os.path.join(d, oc["log_path"])).read() if oc.get("log_path") else ""
            name = oc["scenario"]["Mutant"]["name"]
            oc = dict(oc, pass2=second)
            found[name] = (oc, name, log, os.path.join(d, oc.get("diff_path") or ""))
    universe = f"target/mutants/{crate}-pass2/universe.txt"
    if os.path.isdir(f"target/mutants/{crate}-pass2"):
        # Edits between the passes move line numbers, which are part of a
        # mutant's name: keep only the mutants of the tree the second pass
        # ran on (its `--list`, saved as universe.txt; a moved mutant was
        # re-tested there under its new name).
        now = {line.strip() for line in open(universe) if line.strip()}
        found = {k: v for k, v in found.items() if k in now}
        missing = now - set(found)
        if missing:
            sys.exit(f"mutants: {len(missing)} mutants of {crate} were tested in neither pass, "
                     f"e.g. {sorted(missing)[0]}")
    yield from found.values()


def load_repeats(crate):
    merged = {}
    for d in (f"target/mutants/{crate}", f"target/mutants/{crate}-pass2"):
        p = os.path.join(d, "repeats.json")
        if os.path.exists(p):
            merged.update(json.load(open(p)))
    return merged


def repeat(crate, packages, filters, n):
    """Re-runs each racy kill of CRATE n times on a scratch copy of the
    working tree: the tests that caught it in the run (all of the crate's,
    if it crashed)."""
    racy = [(name, diff, failed_tests(log)) for oc, name, log, diff in outcomes(crate)
            if oc["summary"] == "CaughtMutant" and kill_kind(log)[0] == "racy"]
    second = f"target/mutants/{crate}-pass2"
    out_path = os.path.join(second if os.path.isdir(second) else f"target/mutants/{crate}",
                            "repeats.json")
    done = load_repeats(crate)
    if not racy:
        json.dump(done, open(out_path, "w"), indent=1)
        print(f"mutants: {crate}: no racy kills to repeat")
        return
    # A copy of the working tree as it is now (uncommitted tests included,
    # as cargo-mutants copies it), outside target/.
    wt = os.path.abspath("target/mutants/repeat-tree")
    subprocess.run(["rm", "-rf", wt], check=True)
    os.makedirs(wt)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"],
                           capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if os.path.isfile(f):
            os.makedirs(os.path.join(wt, os.path.dirname(f)), exist_ok=True)
            shutil.copy2(f, os.path.join(wt, f))
    # A hang is a kill (the watchdog fails the test); 8 s is several times
    # the slowest check on the stores the suite's own tests use.
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.abspath("target/mutants/repeat-target"),
               STORELAB_TEST_TIMEOUT_SECS=os.environ.get("STORELAB_TEST_TIMEOUT_SECS", "8"))
    base = ["cargo", "test", "-q"] + [a for p in packages.split() for a in ("-p", p)]
    for name, diff, failed in racy:
        if done.get(name, {}).get("runs") == n:
            continue
        # The tests that caught it in the run; all of the crate's filtered
        # tests when the run named none (the process crashed). A test since
        # folded into another is named by what replaced it.
        tests = [RENAMED.get(t, t) for t in failed] or filters.split()
        cmd = base + ["--", *tests]
        path = open(diff).readline().split(" ", 1)[1].strip()
        shutil.copy2(path, os.path.join(wt, path))
        applied = subprocess.run(["patch", "-s", "-N", os.path.join(wt, path), diff],
                                 capture_output=True, text=True)
        if applied.returncode != 0:
            done[name] = {"runs": 0, "caught": 0, "note": "the diff no longer applies to the working tree"}
            print(f"mutants: {name}: diff does not apply; skipped")
            continue
        # Build once, then run the test executables themselves n times.
        built = subprocess.run(cmd[:3] + ["--no-run", "--message-format=json"] + cmd[3:cmd.index("--")],
                               cwd=wt, env=env, capture_output=True, text=True)
        exes = [m["executable"] for m in map(json.loads, filter(None, built.stdout.splitlines()))
                if m.get("reason") == "compiler-artifact" and m.get("executable")
                and m.get("profile", {}).get("test")]
        if built.returncode != 0:
            done[name] = {"runs": 0, "caught": 0, "note": "the mutated copy does not build"}
            print(f"mutants: {name}: the mutated copy does not build; skipped")
            continue
        caught = 0
        for _ in range(n):
            failed_run = False
            for exe in exes:
                try:
                    r = subprocess.run([exe, *cmd[cmd.index("--") + 1:]], cwd=wt, env=env,
                                       capture_output=True, text=True, timeout=180)
                    failed_run |= r.returncode != 0
                except subprocess.TimeoutExpired:
                    failed_run = True  # a hang fails CI's test command too (its watchdog)
            caught += int(failed_run)
        done[name] = {"runs": n, "caught": caught, "tests": failed or filters.split()}
        print(f"mutants: {name}: caught {caught} of {n}")
        json.dump(done, open(out_path, "w"), indent=1)
        shutil.copy2(path, os.path.join(wt, path))
    json.dump(done, open(out_path, "w"), indent=1)


def summarize(crates):
    out = {"schema": "storelab-mutants/2", "tool": "cargo-mutants 27.1.0",
           "commit": subprocess.run(["git", "rev-parse", "--short=10", "HEAD"],
                                    capture_output=True, text=True).stdout.strip(),
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "rules": {"deterministic_kill": "a failing single-thread conformance check "
                     + "(" + ", ".join(sorted(DET_SINGLE)) + "), a unit test that starts no thread "
                     "and waits on no clock, a planted bug that needs no race ("
                     + ", ".join(sorted(DET_PLANTED)) + "), or a stack overflow",
                     "racy_kill": "any other kill: the tests that caught it re-run N times on the mutated tree, "
                     "counted only if caught every time"},
           "crates": {}}
    explained = {}
    if os.path.exists("results/mutants-explained.tsv"):
        for line in open("results/mutants-explained.tsv"):
            if line.strip() and not line.startswith("#"):
                mutant, why = line.rstrip("\n").split("\t", 1)
                explained[mutant] = why
    for crate in crates:
        repeats = load_repeats(crate)
        counts = {"caught": 0, "caught_in_pass2": 0, "deterministic": 0, "racy_confirmed": 0,
                  "racy_flaky": 0, "racy_unrepeated": 0, "unviable": 0, "timeout": []}
        missed, racy = [], []
        for oc, name, log, _ in outcomes(crate):
            s = oc["summary"]
            if s == "CaughtMutant":
                counts["caught"] += 1
                counts["caught_in_pass2"] += int(oc["pass2"])
                kind, why = kill_kind(log)
                if kind == "deterministic":
                    counts["deterministic"] += 1
                    continue
                r = repeats.get(name)
                entry = {"mutant": name, "failed_tests": why}
                if r and r["runs"] > 0:
                    entry.update(runs=r["runs"], caught=r["caught"])
                    key = "racy_confirmed" if r["caught"] == r["runs"] else "racy_flaky"
                else:
                    entry["note"] = (r or {}).get("note", "not repeated")
                    key = "racy_unrepeated"
                counts[key] += 1
                racy.append(entry)
            elif s == "MissedMutant":
                missed.append({"mutant": name, "why": explained.get(name, "NOT EXPLAINED")})
            elif s == "Timeout":
                # A hang that the watchdog did not turn into a failure: a
                # survivor too (CI would time out, not fail).
                counts["timeout"].append(name)
                missed.append({"mutant": name, "why": explained.get(name, "NOT EXPLAINED"),
                               "timeout": True})
            elif s == "Unviable":
                counts["unviable"] += 1
        viable = counts["caught"] + len(missed)
        every_run = counts["deterministic"] + counts["racy_confirmed"]
        out["crates"][crate] = dict(counts, viable=viable, caught_every_run=every_run,
                                    racy=racy, missed=missed)
    # Crates measured earlier and not in this run keep their figures (with
    # the commit they were measured at), so one crate can be (re)run alone.
    if os.path.exists("results/mutants.json"):
        earlier = json.load(open("results/mutants.json"))
        for crate, r in earlier.get("crates", {}).items():
            if crate not in out["crates"]:
                r.setdefault("commit", earlier.get("commit"))
                out["crates"][crate] = r
    for r in out["crates"].values():
        r.setdefault("commit", out["commit"])
    crates_out = out["crates"].values()
    viable = sum(r["viable"] for r in crates_out)
    caught = sum(r["caught"] for r in crates_out)
    every_run = sum(r["caught_every_run"] for r in crates_out)
    whys = [m["why"] for r in crates_out for m in r["missed"]]
    killed = sum(w.startswith("KILLED") for w in whys)
    equivalent = sum(w.startswith(("equivalent", "test code compiled only")) for w in whys)
    open_ = len(whys) - killed - equivalent
    out["summary"] = {
        "viable": viable, "caught_in_run": caught, "caught_every_run": every_run,
        "racy_flaky": sum(r["racy_flaky"] for r in crates_out),
        "racy_unrepeated": sum(r["racy_unrepeated"] for r in crates_out),
        "killed_after": killed, "equivalent_or_not_compiled": equivalent,
        "open_survivors": open_,
        "unexplained": sum(w == "NOT EXPLAINED" for w in whys),
        "score_in_run": round(caught / viable, 4) if viable else None,
        "score_now": round((every_run + killed) / (viable - equivalent), 4)
        if viable > equivalent else None,
    }
    json.dump(out, open("results/mutants.json", "w"), indent=1)
    print(f"mutants: summary {out['summary']}")
    for c, r in out["crates"].items():
        print(f"mutants: {c}: {r['caught']} of {r['viable']} viable caught "
              f"({r['caught_every_run']} in every run); missed {len(r['missed'])}, "
              f"timed out {len(r['timeout'])}")
    unexplained = sum(w == "NOT EXPLAINED" for w in whys)
    if unexplained:
        sys.exit(f"mutants: {unexplained} survivors have no line in results/mutants-explained.tsv")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "repeat" and len(sys.argv) == 6:
        repeat(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "summarize":
        summarize(sys.argv[2:])
    else:
        sys.exit(__doc__)
