//! The library behind `oauth-templates`: the interpreter of a template plan, which sends a
//! template through the runtime exactly as the generated method does.

pub mod interpret;
