//! The runtime renamed to `rt` in Cargo.toml: `crate = ::rt` points the generated code at it.
#![deny(warnings)]

/// A GitHub client through the legacy single OAuth config.
#[rt::templates(crate = ::rt, requests = "config/requests.json", oauth = "config/oauth_config.json")]
pub struct GitHub;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_built_through_the_renamed_crate() {
        let runtime = rt::Runtime::builder().build().unwrap();
        let github = GitHub::new(runtime);
        let request = github.get_repo(&GetRepoContext {
            owner: "rust-lang".into(),
            repo: "rust".into(),
        });
        assert!(format!("{request:?}").contains("getRepo"));
        assert_eq!(GitHubIntegration::Oauth.name(), "oauth");
    }
}
