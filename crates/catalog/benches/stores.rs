//! `cargo bench -p store-catalog --bench stores [-- FILTER]`: the criterion
//! benches of every catalog store (see the criterion-kit crate), from the
//! catalog's lines. `-- dense/` runs one store's.

macro_rules! benches_for {
    ($c:ident, $name:literal, $ctor:expr; ) => {
        criterion_kit::store_benches(&mut $c, $name, $ctor);
    };
    ($c:ident, $name:literal, $ctor:expr; single_thread $(, $($rest:tt)*)?) => {
        criterion_kit::single_thread_benches(&mut $c, $name, $ctor);
    };
    ($c:ident, $name:literal, $ctor:expr; stores_nothing $(, $($rest:tt)*)?) => {};
    ($c:ident, $name:literal, $ctor:expr; $other:ident $(($($arg:tt)*))? $(, $($rest:tt)*)?) => {
        benches_for!($c, $name, $ctor; $($($rest)*)?);
    };
}

macro_rules! all_benches {
    ($( $id:ident $name:literal $family:ident ($ty:ty) ($ctor:expr) $about:literal [$($opt:tt)*]; )*) => {
        fn main() {
            let mut c = criterion::Criterion::default().configure_from_args();
            $( benches_for!(c, $name, $ctor; $($opt)*); )*
            c.final_summary();
        }
    };
}

store_catalog::for_each_store!(all_benches);
