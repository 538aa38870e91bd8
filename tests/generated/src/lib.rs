//! The generated-code snapshots of `oauth-codegen`, compiled as they are. A snapshot that does
//! not compile, warns, or trips clippy fails the build.
#![deny(warnings)]

/// `oauth-codegen/tests/fixtures/helpdesk`: every kind of value and iparam, two integrations.
pub mod helpdesk {
    include!(concat!(env!("OUT_DIR"), "/helpdesk.rs"));
}

/// `oauth-codegen/tests/fixtures/legacy`: the legacy single OAuth config with `isOAuth`.
pub mod legacy {
    include!(concat!(env!("OUT_DIR"), "/legacy.rs"));
}

/// `oauth-codegen/tests/fixtures/minimal`: no iparams, no OAuth, a keyword template name.
pub mod minimal {
    include!(concat!(env!("OUT_DIR"), "/minimal.rs"));
}

/// `oauth-codegen/tests/fixtures/mutual_tls`: a client certificate from iparams.
pub mod mutual_tls {
    include!(concat!(env!("OUT_DIR"), "/mutual_tls.rs"));
}

/// Real FDK apps from the corpus.
pub mod corpus {
    /// 35 templates.
    pub mod trello {
        include!(concat!(env!("OUT_DIR"), "/corpus_trello.rs"));
    }
    /// Multi-OAuth with `options.oauth`.
    pub mod oauth_samples {
        include!(concat!(env!("OUT_DIR"), "/corpus_oauth_samples.rs"));
    }
    /// Legacy `isOAuth` with an agent token.
    pub mod freshsales {
        include!(concat!(env!("OUT_DIR"), "/corpus_freshsales.rs"));
    }
    /// `current_host` and `encode(…)`.
    pub mod auto_resume {
        include!(concat!(env!("OUT_DIR"), "/corpus_auto_resume.rs"));
    }
    /// Numeric and boolean query values.
    pub mod support_shield {
        include!(concat!(env!("OUT_DIR"), "/corpus_support_shield.rs"));
    }
}
