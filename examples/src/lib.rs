//! Runnable example apps; see the `examples` targets of this package.
