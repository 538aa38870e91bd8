//! An embedded OAuth provider and API emulator (FreshID-like), for the quickstart, the examples
//! and users' own tests.
//!
//! Not written yet: it arrives with the quickstart issue.
