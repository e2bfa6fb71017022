//! Every catalog line runs the conformance suite before it can be timed:
//! the whole suite for stores used from many threads, knob settings
//! included; the single-thread part for `single_thread` stores; none for a
//! store that `stores_nothing` (the harness's own cost).

macro_rules! suite_for {
    ($make:expr; ) => {
        store_conformance::conformance_suite!($make);
    };
    ($make:expr; single_thread $(, $($rest:tt)*)?) => {
        store_conformance::single_thread_suite!($make);
    };
    ($make:expr; stores_nothing $(, $($rest:tt)*)?) => {};
    ($make:expr; $other:ident $(($($arg:tt)*))? $(, $($rest:tt)*)?) => {
        suite_for!($make; $($($rest)*)?);
    };
}

macro_rules! suites {
    ($( $id:ident $name:literal $family:ident ($ty:ty) ($ctor:expr) $about:literal [$($opt:tt)*]; )*) => {
        $(
            mod $id {
                suite_for!(($ctor)(64); $($opt)*);
            }
        )*
    };
}

store_catalog::for_each_store!(suites);
