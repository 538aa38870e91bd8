//! What generated clients call at run time: the invoke engine, the OAuth handshake, token
//! stores and refresh.
//!
//! Not written yet: the request builder arrives with the code generation issue and the engine
//! with the runtime issue. The configuration checker is usable today through `oauth-codegen`
//! and `oauth-templates check`.
