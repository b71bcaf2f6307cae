//! Tools around the product, not part of it: the benchmarks (`herald bench`, `herald
//! bench-log`), the demo data (`herald serve --demo`) and the test receiver (`herald receiver`,
//! also used by the integration tests and benchmarks).

pub mod bench;
pub mod bench_log;
pub mod demo;
pub mod receiver;
