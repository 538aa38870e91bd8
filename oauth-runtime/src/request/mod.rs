//! A request, from the generated method to the answer: `compose` fills a `Draft` from the
//! template, the [`RequestBuilder`] adds the caller's extras, `token` binds the access token,
//! and `attempts` sends it, on what a runtime's calls share (`Shared`, which the runtime
//! makes: this module does not import `runtime`).

mod attempts;
mod budget;
mod builder;
pub(crate) mod cache;
mod compose;
mod draft;
mod shared;
mod token;

pub(crate) use budget::{BudgetLimit, Budgets};
pub use builder::RequestBuilder;
pub use compose::{Compose, FixedPart, Installation, PathPart, PathText};
pub(crate) use compose::{SHARED_STARTS, SharedStarts};
pub use draft::{MethodKind, TemplateInfo};
pub(crate) use shared::Shared;
