//! The machine record written into every result file: a figure without the
//! machine it came from is not a figure.
//!
//! Two halves. How the measuring program was built (commit, dirty flag,
//! compiler, profile, target) is fixed when it is compiled: the `storelab`
//! crate's build script bakes it in, and the program hands it over with
//! [`Build::install`] before it measures anything, so nothing about the
//! build is asked of `git` or `rustc` at run time, in whatever folder the
//! program happens to run. The machine itself (CPU, topology, caches,
//! memory, hypervisor, OS) is read at run time from `/proc` and `/sys`, by
//! pure parsing functions over their text; any of them that fails leaves
//! its field `None` (or `"unknown"`), never a panic.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Where and how a result was obtained.
///
/// The fields after `command` came later: older files lack them and read
/// them as `None` (their [`Machine::name`] is derived from the model and the
/// core count).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: String,
    /// Logical CPUs the process may use.
    pub cores: usize,
    pub os: String,
    pub kernel: String,
    /// `rustc --version` of the compiler that built the measuring program.
    pub rustc: String,
    /// The commit the measuring program was built from (`unknown` if it was
    /// built outside a git checkout of this workspace).
    pub git_commit: String,
    /// Whether the checkout it was built from had uncommitted changes to
    /// tracked files (outside `results/`) at build time.
    pub git_dirty: bool,
    /// UTC, RFC 3339.
    pub date: String,
    /// The exact command line.
    pub command: String,
    /// The cargo profile the measuring program was built with: `release`,
    /// `bench` (release with debug info, as this workspace's bench profile)
    /// or `debug`.
    #[serde(default)]
    pub profile: Option<String>,
    /// The target triple it was built for.
    #[serde(default)]
    pub target: Option<String>,
    /// A short name stable across runs, e.g. `epyc-2c` (see
    /// [`machine_name`]).
    #[serde(default)]
    pub name: Option<String>,
    /// The hypervisor underneath (`KVM`, `Hyper-V`, `VMware`, `Xen`, ...,
    /// `unknown` when one is flagged but not named); `None` on bare metal.
    #[serde(default)]
    pub hypervisor: Option<String>,
    /// Hardware threads per core (the largest count among the cores).
    #[serde(default)]
    pub threads_per_core: Option<usize>,
    #[serde(default)]
    pub sockets: Option<usize>,
    #[serde(default)]
    pub numa_nodes: Option<usize>,
    /// The level 2 cache seen by CPU 0, in words: its size and whether
    /// one core has it (`1 MiB per core`) or several share it (`32 MiB
    /// shared by 16 CPUs`); see [`Cache::describe`].
    #[serde(default)]
    pub l2: Option<String>,
    /// Its size in bytes.
    #[serde(default)]
    pub l2_bytes: Option<u64>,
    /// The level 3 cache seen by CPU 0, in words, as `l2`.
    #[serde(default)]
    pub l3: Option<String>,
    /// Its size in bytes.
    #[serde(default)]
    pub l3_bytes: Option<u64>,
    /// Total memory (`MemTotal`), bytes.
    #[serde(default)]
    pub memory_bytes: Option<u64>,
}

/// One cache level as seen by one CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cache {
    /// Size of one instance, bytes.
    pub bytes: u64,
    /// Logical CPUs that share this instance (its `shared_cpu_list`).
    pub shared_cpus: Option<usize>,
    /// `true` if only one core's hardware threads share it, `false` if
    /// several cores do.
    pub per_core: Option<bool>,
}

impl Cache {
    /// `1 MiB per core`, `32 MiB shared by 16 CPUs`, or the size alone
    /// when the sharing is unknown.
    pub fn describe(&self) -> String {
        let size = match self.bytes {
            b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
            b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
            b => format!("{b} B"),
        };
        match (self.per_core, self.shared_cpus) {
            (Some(true), _) | (None, Some(1)) => format!("{size} per core"),
            (_, Some(n)) => format!("{size} shared by {n} CPUs"),
            (_, None) => size,
        }
    }
}

/// How the measuring program was built. The `storelab` crate fills one
/// from the values its build script baked in (`storelab::BUILD`) and
/// installs it first thing; a program that installs none records
/// [`Build::UNKNOWN`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Build {
    pub git_commit: &'static str,
    pub git_dirty: bool,
    pub rustc: &'static str,
    pub profile: &'static str,
    pub target: &'static str,
}

static INSTALLED: OnceLock<Build> = OnceLock::new();

impl Build {
    pub const UNKNOWN: Build = Build {
        git_commit: UNKNOWN,
        git_dirty: false,
        rustc: UNKNOWN,
        profile: UNKNOWN,
        target: UNKNOWN,
    };

    /// Makes this the build [`Machine::current`] records for the rest of
    /// the process. The first install wins; returns whether this one did.
    pub fn install(self) -> bool {
        INSTALLED.set(self).is_ok()
    }

    /// The installed build, or [`Build::UNKNOWN`].
    pub fn installed() -> Build {
        INSTALLED.get().copied().unwrap_or(Build::UNKNOWN)
    }
}

const UNKNOWN: &str = "unknown";

fn known(s: &str) -> Option<String> {
    (!s.is_empty() && s != UNKNOWN).then(|| s.to_owned())
}

impl Machine {
    /// Reads the record of this machine and process, with the build that
    /// was installed ([`Build::install`]).
    pub fn current() -> Machine {
        Machine::current_for(&Build::installed())
    }

    /// Reads the record of this machine and process, built as `build` says.
    pub fn current_for(build: &Build) -> Machine {
        let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpu_model(&cpuinfo).unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut ids = sysfs_topology_ids();
        if ids.is_empty() {
            ids = cpuinfo_topology_ids(&cpuinfo);
        }
        let (sockets, threads_per_core) = topology(&ids);
        let caches = sysfs_caches();
        let l2 = pick_cache(&caches, 2, threads_per_core);
        let l3 = pick_cache(&caches, 3, threads_per_core);
        Machine {
            name: Some(machine_name(&cpu_model, cores)),
            hypervisor: hypervisor(
                &cpuinfo,
                read("/sys/hypervisor/type").as_deref(),
                cpuid_hypervisor_vendor().as_deref(),
            ),
            threads_per_core,
            sockets,
            numa_nodes: numa_nodes(),
            l2: l2.map(|c| c.describe()),
            l2_bytes: l2.map(|c| c.bytes),
            l3: l3.map(|c| c.describe()),
            l3_bytes: l3.map(|c| c.bytes),
            memory_bytes: read("/proc/meminfo").and_then(|m| mem_total_bytes(&m)),
            cpu_model,
            cores,
            os: read("/etc/os-release")
                .and_then(|t| os_pretty_name(&t))
                .unwrap_or_else(|| std::env::consts::OS.to_owned()),
            kernel: kernel(),
            rustc: build.rustc.to_owned(),
            git_commit: build.git_commit.to_owned(),
            git_dirty: build.git_dirty,
            profile: known(build.profile),
            target: known(build.target),
            date: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or_else(|_| UNKNOWN.to_owned(), |d| utc_rfc3339(d.as_secs())),
            command: std::env::args().collect::<Vec<_>>().join(" "),
        }
    }

    /// The short name of the machine: the recorded one, or for files
    /// written before it was recorded, derived from the model and the core
    /// count the same way.
    pub fn name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| machine_name(&self.cpu_model, self.cores))
    }

    /// One line for table headers. Records that predate the name and the
    /// hypervisor read as they always did.
    pub fn summary(&self) -> String {
        let commit = format!(
            "commit {}{}",
            self.git_commit.chars().take(10).collect::<String>(),
            if self.git_dirty { " (dirty)" } else { "" }
        );
        let Some(name) = &self.name else {
            return format!(
                "{} · {} cores · {} · {} · {commit}",
                self.cpu_model, self.cores, self.os, self.rustc
            );
        };
        let host = match self.hypervisor.as_deref() {
            None => "bare metal".to_owned(),
            Some(UNKNOWN) => "VM".to_owned(),
            Some(h) => format!("{h} VM"),
        };
        let debug = if self.profile.as_deref() == Some("debug") {
            " · debug build"
        } else {
            ""
        };
        format!(
            "{name} · {} · {} cores · {host} · {} · {} · {commit}{debug}",
            self.cpu_model, self.cores, self.os, self.rustc
        )
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn kernel() -> String {
    read("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .or_else(|| {
            // Not Linux: ask uname (found on PATH, or not).
            let out = std::process::Command::new("uname")
                .arg("-r")
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_owned())
}

/// The first `model name` of `/proc/cpuinfo`.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo_value(cpuinfo, "model name")
        .map(str::to_owned)
        .filter(|v| !v.is_empty())
}

/// The value of the first `key : value` line of `/proc/cpuinfo` with this key.
fn cpuinfo_value<'a>(cpuinfo: &'a str, key: &str) -> Option<&'a str> {
    cpuinfo.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// `PRETTY_NAME` of `/etc/os-release`.
pub fn os_pretty_name(os_release: &str) -> Option<String> {
    os_release
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

/// `MemTotal` of `/proc/meminfo`, in bytes.
pub fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let rest = meminfo.lines().find_map(|l| l.strip_prefix("MemTotal:"))?;
    let mut words = rest.split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    let unit = match words.next() {
        None => 1,
        Some(u) if u.eq_ignore_ascii_case("kb") => 1024,
        Some(u) if u.eq_ignore_ascii_case("mb") => 1024 * 1024,
        Some(_) => return None,
    };
    n.checked_mul(unit)
}

/// Whether the `flags` line of `/proc/cpuinfo` has `hypervisor` (the CPU
/// says it runs under one).
pub fn hypervisor_flag(cpuinfo: &str) -> bool {
    cpuinfo_value(cpuinfo, "flags").is_some_and(|f| f.split_whitespace().any(|w| w == "hypervisor"))
}

/// The hypervisor's name from its CPUID vendor signature (leaf
/// 0x40000000, the 12 bytes of EBX, ECX, EDX); `None` for an empty one.
pub fn hypervisor_vendor_name(signature: &str) -> Option<String> {
    let sig = signature.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    let name = match sig {
        "" => return None,
        "KVMKVMKVM" | "Linux KVM Hv" => "KVM",
        "Microsoft Hv" => "Hyper-V",
        "VMwareVMware" => "VMware",
        "XenVMMXenVMM" => "Xen",
        "TCGTCGTCGTCG" => "QEMU (TCG)",
        "VBoxVBoxVBox" => "VirtualBox",
        "bhyve bhyve" => "bhyve",
        "lrpepyh  vr" | "prl hyperv" => "Parallels",
        "ACRNACRNACRN" => "ACRN",
        "QNXQVMBSQG" => "QNX",
        "HAXMHAXMHAXM" => "HAXM",
        "Apple VZ" => "Apple Virtualization",
        other => {
            let printable: String = other
                .chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .collect();
            return (!printable.is_empty()).then_some(printable);
        }
    };
    Some(name.to_owned())
}

/// The hypervisor, if any: named by its CPUID signature when there is
/// one, else by `/sys/hypervisor/type`; `unknown` when only the cpuinfo
/// flag says there is one; `None` for bare metal.
pub fn hypervisor(
    cpuinfo: &str,
    sys_hypervisor_type: Option<&str>,
    cpuid_signature: Option<&str>,
) -> Option<String> {
    let from_sys = sys_hypervisor_type
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "xen" => "Xen".to_owned(),
            "kvm" => "KVM".to_owned(),
            other => other.to_owned(),
        });
    cpuid_signature
        .and_then(hypervisor_vendor_name)
        .or(from_sys)
        .or_else(|| hypervisor_flag(cpuinfo).then(|| UNKNOWN.to_owned()))
}

/// The CPUID hypervisor signature, read only when CPUID says a hypervisor
/// is present (leaf 1, ECX bit 31): on bare metal leaf 0x40000000 means
/// nothing. KVM with Hyper-V enlightenments shows `Microsoft Hv` first and
/// its own signature at 0x40000100.
#[cfg(target_arch = "x86_64")]
fn cpuid_hypervisor_vendor() -> Option<String> {
    use std::arch::x86_64::__cpuid;
    fn signature(leaf: u32) -> String {
        // CPUID is always available on x86_64.
        #[allow(unused_unsafe)]
        let r = unsafe { __cpuid(leaf) };
        let bytes: Vec<u8> = [r.ebx, r.ecx, r.edx]
            .iter()
            .flat_map(|reg| reg.to_le_bytes())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
    #[allow(unused_unsafe)]
    let leaf1 = unsafe { __cpuid(1) };
    if leaf1.ecx & (1 << 31) == 0 {
        return None;
    }
    let first = signature(0x4000_0000);
    if first.starts_with("Microsoft Hv") {
        let second = signature(0x4000_0100);
        if second.starts_with("KVMKVMKVM") {
            return Some(second);
        }
    }
    Some(first)
}

#[cfg(not(target_arch = "x86_64"))]
fn cpuid_hypervisor_vendor() -> Option<String> {
    None
}

/// `(package id, core id)` of every logical CPU of `/proc/cpuinfo` that
/// states both (`physical id`, `core id`).
pub fn cpuinfo_topology_ids(cpuinfo: &str) -> Vec<(i64, i64)> {
    cpuinfo
        .split("\n\n")
        .filter_map(|block| {
            let package = cpuinfo_value(block, "physical id")?.parse().ok()?;
            let core = cpuinfo_value(block, "core id")?.parse().ok()?;
            Some((package, core))
        })
        .collect()
}

/// `(package id, core id)` of every online logical CPU, from
/// `/sys/devices/system/cpu/cpuN/topology`.
fn sysfs_topology_ids() -> Vec<(i64, i64)> {
    let Ok(dir) = std::fs::read_dir("/sys/devices/system/cpu") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let name = e.ok()?.file_name().into_string().ok()?;
        numbered(&name, "cpu")?;
        let base = format!("/sys/devices/system/cpu/{name}/topology");
        let package = read(&format!("{base}/physical_package_id"))?
            .trim()
            .parse()
            .ok()?;
        let core = read(&format!("{base}/core_id"))?.trim().parse().ok()?;
        Some((package, core))
    })
    .collect()
}

/// `(sockets, threads per core)` from the `(package id, core id)` of each
/// logical CPU: distinct packages, and the most CPUs on one core.
pub fn topology(ids: &[(i64, i64)]) -> (Option<usize>, Option<usize>) {
    if ids.is_empty() {
        return (None, None);
    }
    let mut packages: Vec<i64> = ids.iter().map(|(p, _)| *p).collect();
    packages.sort_unstable();
    packages.dedup();
    let mut cores = ids.to_vec();
    cores.sort_unstable();
    let threads = cores
        .chunk_by(|a, b| a == b)
        .map(<[_]>::len)
        .max()
        .unwrap_or(1);
    (Some(packages.len()), Some(threads))
}

/// The number `N` of a name `{prefix}N`.
fn numbered(name: &str, prefix: &str) -> Option<u32> {
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// How many of these folder names are NUMA nodes (`nodeN`); `None` for none.
pub fn count_numa_nodes<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<usize> {
    let n = names
        .into_iter()
        .filter(|n| numbered(n, "node").is_some())
        .count();
    (n > 0).then_some(n)
}

fn numa_nodes() -> Option<usize> {
    let names: Vec<String> = std::fs::read_dir("/sys/devices/system/node")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    count_numa_nodes(names.iter().map(String::as_str))
}

/// How many CPUs a kernel CPU list names (`0-3,8-11` is 8); `None` if it
/// does not parse.
pub fn cpu_list_len(list: &str) -> Option<usize> {
    let list = list.trim();
    if list.is_empty() {
        return None;
    }
    list.split(',').try_fold(0usize, |n, part| {
        let count = match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                b.checked_sub(a)? + 1
            }
            None => {
                part.trim().parse::<usize>().ok()?;
                1
            }
        };
        n.checked_add(count)
    })
}

/// A sysfs cache size (`32K`, `1024K`, `32M`) in bytes.
pub fn parse_cache_size(size: &str) -> Option<u64> {
    let s = size.trim();
    let (digits, mult) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 1024),
        (i, 'M' | 'm') => (&s[..i], 1024 * 1024),
        (i, 'G' | 'g') => (&s[..i], 1024 * 1024 * 1024),
        _ => (s, 1),
    };
    digits.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// One `cache/indexN` folder of a CPU, as text: `level`, `type`, `size`,
/// `shared_cpu_list`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheEntry {
    pub level: String,
    pub kind: String,
    pub size: String,
    pub shared_cpu_list: String,
}

fn sysfs_caches() -> Vec<CacheEntry> {
    let base = "/sys/devices/system/cpu/cpu0/cache";
    let Ok(dir) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| numbered(n, "index").is_some())
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| {
            let f = |file: &str| read(&format!("{base}/{n}/{file}")).unwrap_or_default();
            CacheEntry {
                level: f("level"),
                kind: f("type"),
                size: f("size"),
                shared_cpu_list: f("shared_cpu_list"),
            }
        })
        .collect()
}

/// The data (or unified) cache of this level: its size, how many CPUs
/// share it, and whether that is one core's threads (`threads_per_core`)
/// or several cores.
pub fn pick_cache(
    entries: &[CacheEntry],
    level: u32,
    threads_per_core: Option<usize>,
) -> Option<Cache> {
    entries.iter().find_map(|e| {
        if e.level.trim().parse::<u32>().ok()? != level || e.kind.trim() == "Instruction" {
            return None;
        }
        let bytes = parse_cache_size(&e.size)?;
        let shared_cpus = cpu_list_len(&e.shared_cpu_list);
        Some(Cache {
            bytes,
            shared_cpus,
            per_core: shared_cpus
                .zip(threads_per_core)
                .map(|(shared, tpc)| shared <= tpc),
        })
    })
}

/// A short machine name stable across runs: a lowercase family word of
/// the CPU model (`epyc`, `xeon`, `ryzen`, `core`, `m4`, ...; else its
/// first word that is not a vendor or filler) and the core count, e.g.
/// `xeon-16c`.
pub fn machine_name(cpu_model: &str, cores: usize) -> String {
    const FAMILIES: &[&str] = &[
        "epyc",
        "xeon",
        "ryzen",
        "threadripper",
        "opteron",
        "athlon",
        "core",
        "pentium",
        "celeron",
        "atom",
        "graviton",
        "neoverse",
        "altra",
        "ampereone",
        "cortex",
        "kunpeng",
        "power9",
        "power10",
        "power11",
    ];
    const FILLER: &[&str] = &[
        "intel",
        "amd",
        "apple",
        "arm",
        "genuine",
        "authentic",
        "r",
        "tm",
        "cpu",
        "processor",
        "gen",
        "common",
        "virtual",
    ];
    let words: Vec<String> = cpu_model
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let apple_m =
        |w: &str| w.len() >= 2 && w.starts_with('m') && w[1..].bytes().all(|b| b.is_ascii_digit());
    let family = words
        .iter()
        .find(|w| FAMILIES.contains(&w.as_str()) || apple_m(w))
        .or_else(|| {
            words.iter().find(|w| {
                !FILLER.contains(&w.as_str()) && w.starts_with(|c: char| c.is_ascii_alphabetic())
            })
        })
        .map_or("cpu", String::as_str);
    format!("{family}-{cores}c")
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPUINFO_VM: &str = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n\
physical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\ncpu cores\t: 2\n\
flags\t\t: fpu vme de pse tsc msr hypervisor lahf_lm\n\n\
processor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n\
physical id\t: 0\nsiblings\t: 2\ncore id\t\t: 1\ncpu cores\t: 2\n\
flags\t\t: fpu vme de pse tsc msr hypervisor lahf_lm\n";

    /// Two sockets, two cores each, two threads per core.
    const CPUINFO_METAL: &str = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\nphysical id\t: 0\ncore id\t\t: 0\nflags\t\t: fpu vme hypervisorx\n\n\
processor\t: 1\nphysical id\t: 0\ncore id\t\t: 1\n\n\
processor\t: 2\nphysical id\t: 1\ncore id\t\t: 0\n\n\
processor\t: 3\nphysical id\t: 1\ncore id\t\t: 1\n\n\
processor\t: 4\nphysical id\t: 0\ncore id\t\t: 0\n\n\
processor\t: 5\nphysical id\t: 0\ncore id\t\t: 1\n\n\
processor\t: 6\nphysical id\t: 1\ncore id\t\t: 0\n\n\
processor\t: 7\nphysical id\t: 1\ncore id\t\t: 1\n";

    /// An arm64 cpuinfo: no model name, no ids, no flags line.
    const CPUINFO_ARM: &str = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm\nCPU implementer\t: 0x41\n";

    #[test]
    fn cpuinfo_model_ids_and_flag() {
        assert_eq!(cpu_model(CPUINFO_VM).as_deref(), Some("AMD EPYC"));
        assert_eq!(
            cpu_model(CPUINFO_METAL).as_deref(),
            Some("Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz")
        );
        assert_eq!(cpu_model(CPUINFO_ARM), None);
        assert_eq!(cpu_model(""), None);
        assert_eq!(cpu_model("model name\t:\n"), None);

        assert_eq!(cpuinfo_topology_ids(CPUINFO_VM), vec![(0, 0), (0, 1)]);
        assert_eq!(cpuinfo_topology_ids(CPUINFO_METAL).len(), 8);
        assert!(cpuinfo_topology_ids(CPUINFO_ARM).is_empty());
        assert!(cpuinfo_topology_ids("physical id : x\ncore id : 0\n").is_empty());

        assert!(hypervisor_flag(CPUINFO_VM));
        assert!(
            !hypervisor_flag(CPUINFO_METAL),
            "a longer word is not the flag"
        );
        assert!(!hypervisor_flag(CPUINFO_ARM));
        assert!(!hypervisor_flag(""));
    }

    #[test]
    fn topology_counts_sockets_and_threads_per_core() {
        assert_eq!(topology(&[]), (None, None));
        assert_eq!(
            topology(&cpuinfo_topology_ids(CPUINFO_VM)),
            (Some(1), Some(1))
        );
        assert_eq!(
            topology(&cpuinfo_topology_ids(CPUINFO_METAL)),
            (Some(2), Some(2))
        );
        // A hybrid part: two P-cores with two threads, two E-cores with one.
        assert_eq!(
            topology(&[(0, 0), (0, 0), (0, 4), (0, 4), (0, 8), (0, 9)]),
            (Some(1), Some(2))
        );
    }

    #[test]
    fn hypervisor_is_named_from_cpuid_then_sysfs_then_the_flag() {
        assert_eq!(
            hypervisor_vendor_name("KVMKVMKVM\0\0\0").as_deref(),
            Some("KVM")
        );
        for (sig, name) in [
            ("Microsoft Hv", "Hyper-V"),
            ("VMwareVMware", "VMware"),
            ("XenVMMXenVMM", "Xen"),
            ("TCGTCGTCGTCG", "QEMU (TCG)"),
            ("bhyve bhyve ", "bhyve"),
            ("VBoxVBoxVBox", "VirtualBox"),
            (" lrpepyh  vr", "Parallels"),
            ("NewHyperThng", "NewHyperThng"),
        ] {
            assert_eq!(hypervisor_vendor_name(sig).as_deref(), Some(name), "{sig}");
        }
        assert_eq!(hypervisor_vendor_name("\0\0\0\0\0\0\0\0\0\0\0\0"), None);
        assert_eq!(hypervisor_vendor_name("\u{1}\u{2}"), None);

        assert_eq!(
            hypervisor(CPUINFO_VM, None, Some("KVMKVMKVM\0\0\0")).as_deref(),
            Some("KVM")
        );
        assert_eq!(
            hypervisor(CPUINFO_VM, Some("xen\n"), None).as_deref(),
            Some("Xen")
        );
        assert_eq!(
            hypervisor(CPUINFO_VM, None, None).as_deref(),
            Some("unknown")
        );
        assert_eq!(
            hypervisor(CPUINFO_VM, Some(""), Some("")).as_deref(),
            Some("unknown")
        );
        assert_eq!(hypervisor(CPUINFO_METAL, None, None), None);
        assert_eq!(hypervisor(CPUINFO_ARM, None, None), None);
        assert_eq!(
            hypervisor(CPUINFO_ARM, Some("kvm"), None).as_deref(),
            Some("KVM")
        );
    }

    #[test]
    fn meminfo_and_os_release() {
        let meminfo = "MemTotal:       24683792 kB\nMemFree:         1234 kB\n";
        assert_eq!(mem_total_bytes(meminfo), Some(24_683_792 * 1024));
        assert_eq!(mem_total_bytes("MemFree: 1 kB\n"), None);
        assert_eq!(mem_total_bytes("MemTotal: lots kB\n"), None);
        assert_eq!(mem_total_bytes("MemTotal: 12 parsecs\n"), None);
        assert_eq!(mem_total_bytes("MemTotal:\n"), None);
        assert_eq!(mem_total_bytes(""), None);

        let os = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(
            os_pretty_name(os).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert_eq!(os_pretty_name("NAME=x\n"), None);
        assert_eq!(os_pretty_name("PRETTY_NAME=\"\"\n"), None);
    }

    #[test]
    fn cpu_lists_cache_sizes_and_numa_nodes() {
        assert_eq!(cpu_list_len("0"), Some(1));
        assert_eq!(cpu_list_len("0-1\n"), Some(2));
        assert_eq!(cpu_list_len("0-3,8-11"), Some(8));
        assert_eq!(cpu_list_len("0,2,4-5"), Some(4));
        assert_eq!(cpu_list_len(""), None);
        assert_eq!(cpu_list_len("3-1"), None);
        assert_eq!(cpu_list_len("0-x"), None);
        assert_eq!(cpu_list_len("0,,1"), None);

        assert_eq!(parse_cache_size("32K\n"), Some(32 * 1024));
        assert_eq!(parse_cache_size("32768K"), Some(32 << 20));
        assert_eq!(parse_cache_size("2M"), Some(2 << 20));
        assert_eq!(parse_cache_size("512"), Some(512));
        assert_eq!(parse_cache_size(""), None);
        assert_eq!(parse_cache_size("K"), None);
        assert_eq!(parse_cache_size("big"), None);
        assert_eq!(parse_cache_size("99999999999999999999G"), None);

        assert_eq!(
            count_numa_nodes([
                "has_cpu", "node0", "node1", "online", "possible", "nodex", "node"
            ]),
            Some(2)
        );
        assert_eq!(count_numa_nodes(["online"]), None);
    }

    fn entry(level: &str, kind: &str, size: &str, shared: &str) -> CacheEntry {
        CacheEntry {
            level: format!("{level}\n"),
            kind: format!("{kind}\n"),
            size: format!("{size}\n"),
            shared_cpu_list: format!("{shared}\n"),
        }
    }

    #[test]
    fn caches_are_picked_by_level_and_scoped() {
        // This lab's 2-core EPYC VM.
        let epyc = [
            entry("1", "Data", "32K", "0"),
            entry("1", "Instruction", "32K", "0"),
            entry("2", "Unified", "1024K", "0"),
            entry("3", "Unified", "32768K", "0-1"),
        ];
        assert_eq!(
            pick_cache(&epyc, 2, Some(1)),
            Some(Cache {
                bytes: 1 << 20,
                shared_cpus: Some(1),
                per_core: Some(true)
            })
        );
        assert_eq!(
            pick_cache(&epyc, 3, Some(1)),
            Some(Cache {
                bytes: 32 << 20,
                shared_cpus: Some(2),
                per_core: Some(false)
            })
        );
        // Hyper-threads share an L2 of their core; scope unknown without
        // the topology.
        let ht = [entry("2", "Unified", "2048K", "0,8")];
        assert_eq!(pick_cache(&ht, 2, Some(2)).unwrap().per_core, Some(true));
        assert_eq!(pick_cache(&ht, 2, None).unwrap().per_core, None);
        // No level 3, an instruction-only level, garbage.
        assert_eq!(pick_cache(&epyc[..3], 3, Some(1)), None);
        assert_eq!(
            pick_cache(&[entry("2", "Instruction", "64K", "0")], 2, None),
            None
        );
        assert_eq!(
            pick_cache(&[entry("x", "Unified", "1M", "")], 2, None),
            None
        );
        let no_list = pick_cache(&[entry("2", "Unified", "1M", "")], 2, Some(1)).unwrap();
        assert_eq!((no_list.shared_cpus, no_list.per_core), (None, None));
        assert_eq!(pick_cache(&[], 2, None), None);
    }

    #[test]
    fn caches_in_words() {
        let c = |bytes, shared_cpus, per_core| Cache {
            bytes,
            shared_cpus,
            per_core,
        };
        assert_eq!(c(1 << 20, Some(1), Some(true)).describe(), "1 MiB per core");
        assert_eq!(
            c(32 << 20, Some(2), Some(false)).describe(),
            "32 MiB shared by 2 CPUs"
        );
        assert_eq!(c(2 << 20, Some(2), Some(true)).describe(), "2 MiB per core");
        assert_eq!(c(1280 << 10, Some(1), None).describe(), "1280 KiB per core");
        assert_eq!(
            c(36 << 20, Some(16), None).describe(),
            "36 MiB shared by 16 CPUs"
        );
        assert_eq!(c(48 << 10, None, None).describe(), "48 KiB");
        assert_eq!(c(1000, None, None).describe(), "1000 B");
    }

    #[test]
    fn machine_names() {
        for (model, cores, name) in [
            ("Intel(R) Xeon(R) Processor", 16, "xeon-16c"),
            ("AMD EPYC", 2, "epyc-2c"),
            ("AMD EPYC 7B13 64-Core Processor", 8, "epyc-8c"),
            (
                "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
                4,
                "xeon-4c",
            ),
            ("AMD Ryzen 9 7950X 16-Core Processor", 32, "ryzen-32c"),
            ("12th Gen Intel(R) Core(TM) i7-12700H", 20, "core-20c"),
            ("Intel(R) Core(TM) Ultra 7 155H", 22, "core-22c"),
            ("Apple M4 Pro", 14, "m4-14c"),
            ("Neoverse-N1", 4, "neoverse-4c"),
            ("QEMU Virtual CPU version 2.5+", 2, "qemu-2c"),
            ("Common KVM processor", 2, "kvm-2c"),
            ("aarch64", 4, "aarch64-4c"),
            ("", 1, "cpu-1c"),
            ("(R) 42", 1, "cpu-1c"),
        ] {
            assert_eq!(machine_name(model, cores), name, "{model}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(utc_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(utc_rfc3339(1_796_390_482), "2026-12-04T13:21:22Z");
    }

    fn old_record() -> Machine {
        serde_json::from_str(
            r#"{"cpu_model":"Intel(R) Xeon(R) Processor","cores":16,"os":"Ubuntu 24.04.3 LTS",
                "kernel":"6.18","rustc":"rustc 1.95.0 (59807616e 2026-04-14)",
                "git_commit":"d2831b90987a72d1bbda907306be882a5a6dc84b","git_dirty":false,
                "date":"2026-12-04T13:41:22Z","command":"storelab run"}"#,
        )
        .expect("an old record reads")
    }

    #[test]
    fn old_records_read_and_summarize_as_before() {
        let m = old_record();
        assert_eq!(m.name, None);
        assert_eq!(m.hypervisor, None);
        assert_eq!(m.name(), "xeon-16c");
        assert_eq!(
            m.summary(),
            "Intel(R) Xeon(R) Processor · 16 cores · Ubuntu 24.04.3 LTS · rustc 1.95.0 (59807616e 2026-04-14) · commit d2831b9098"
        );
    }

    #[test]
    fn new_records_name_the_machine_and_its_host() {
        let mut m = Machine {
            name: Some("epyc-2c".into()),
            hypervisor: Some("KVM".into()),
            profile: Some("release".into()),
            git_dirty: true,
            ..old_record()
        };
        assert_eq!(m.name(), "epyc-2c");
        assert_eq!(
            m.summary(),
            "epyc-2c · Intel(R) Xeon(R) Processor · 16 cores · KVM VM · Ubuntu 24.04.3 LTS · rustc 1.95.0 (59807616e 2026-04-14) · commit d2831b9098 (dirty)"
        );
        m.hypervisor = None;
        m.profile = Some("debug".into());
        m.git_commit = "unknown".into();
        m.git_dirty = false;
        assert!(
            m.summary()
                .ends_with("· bare metal · Ubuntu 24.04.3 LTS · rustc 1.95.0 (59807616e 2026-04-14) · commit unknown · debug build"),
            "{}",
            m.summary()
        );
        let back: Machine =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).expect("round trip");
        assert_eq!(back, m);
        // Any commit text summarizes without a panic.
        m.git_commit = "ééééééééééé".into();
        assert!(m.summary().contains("commit éééééééééé ·"));
    }

    #[test]
    fn the_build_is_recorded_not_probed() {
        let build = Build {
            git_commit: "abc123",
            git_dirty: true,
            rustc: "rustc 9.9.9",
            profile: "bench",
            target: "x86_64-unknown-linux-gnu",
        };
        let m = Machine::current_for(&build);
        assert_eq!(
            (m.git_commit.as_str(), m.git_dirty, m.rustc.as_str()),
            ("abc123", true, "rustc 9.9.9")
        );
        assert_eq!(m.profile.as_deref(), Some("bench"));
        assert_eq!(m.target.as_deref(), Some("x86_64-unknown-linux-gnu"));
        assert!(m.cores >= 1 && !m.cpu_model.is_empty());
        assert_eq!(m.name(), machine_name(&m.cpu_model, m.cores));
        assert_eq!(m.date.len(), "2026-12-04T13:21:22Z".len());

        let unknown = Machine::current_for(&Build::UNKNOWN);
        assert_eq!(unknown.git_commit, "unknown");
        assert_eq!((unknown.profile, unknown.target), (None, None));
    }
}
