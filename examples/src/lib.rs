//! Runnable example apps, each with its own `config/` folder; the `examples` targets of this
//! package run them, and the tests check what they print.

pub mod quickstart;
