//! An app's files, read from its folder (or given in memory), loaded and validated in one go.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostics;
use crate::json;
use crate::load;
use crate::model::AppConfig;
use crate::source::SourceMap;
use crate::validate::validate;

/// One config file's text and the name diagnostics show for it.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// The name diagnostics print (`config/requests.json`).
    pub name: String,
    /// Where it was read from (empty for in-memory files).
    pub path: PathBuf,
    /// Its contents.
    pub text: String,
}

impl InputFile {
    /// A file that exists only in memory (tests, generated configs).
    pub fn in_memory(name: impl Into<String>, text: impl Into<String>) -> Self {
        InputFile {
            name: name.into(),
            path: PathBuf::new(),
            text: text.into(),
        }
    }

    /// Reads `path`, shown in diagnostics as `name`. `Ok(None)` if the file does not exist.
    pub fn read(path: &Path, name: impl Into<String>) -> Result<Option<Self>, ReadError> {
        match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Ok(Some(InputFile {
                    name: name.into(),
                    path: path.to_path_buf(),
                    text,
                })),
                Err(_) => Err(ReadError {
                    path: path.to_path_buf(),
                    reason: "it is not UTF-8 text".to_string(),
                }),
            },
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(ReadError {
                path: path.to_path_buf(),
                reason: error.to_string(),
            }),
        }
    }
}

/// The files of one app; any may be missing.
#[derive(Debug, Clone, Default)]
pub struct AppInput {
    /// `config/requests.json`.
    pub requests: Option<InputFile>,
    /// `config/oauth_config.json`.
    pub oauth: Option<InputFile>,
    /// `config/iparams.json`.
    pub iparams: Option<InputFile>,
    /// `manifest.json`.
    pub manifest: Option<InputFile>,
}

/// A config file that exists but cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// The file.
    pub path: PathBuf,
    /// Why it could not be read.
    pub reason: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot read {}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for ReadError {}

/// The standard places of an app's files, relative to its folder.
pub const REQUESTS_PATH: &str = "config/requests.json";
/// See [`REQUESTS_PATH`].
pub const OAUTH_PATH: &str = "config/oauth_config.json";
/// See [`REQUESTS_PATH`].
pub const IPARAMS_PATH: &str = "config/iparams.json";
/// See [`REQUESTS_PATH`].
pub const MANIFEST_PATH: &str = "manifest.json";

impl AppInput {
    /// Reads the app in `dir` (`config/requests.json`, `config/oauth_config.json`,
    /// `config/iparams.json`, `manifest.json`); missing files are `None`.
    pub fn read_dir(dir: &Path) -> Result<Self, ReadError> {
        let read = |relative: &str| InputFile::read(&dir.join(relative), relative);
        Ok(AppInput {
            requests: read(REQUESTS_PATH)?,
            oauth: read(OAUTH_PATH)?,
            iparams: read(IPARAMS_PATH)?,
            manifest: read(MANIFEST_PATH)?,
        })
    }

    /// Whether the app has neither templates nor OAuth config: nothing to check.
    pub fn is_empty(&self) -> bool {
        self.requests.is_none() && self.oauth.is_none()
    }
}

/// The result of checking an app: its files, what could be loaded, and every diagnostic.
#[derive(Debug)]
pub struct CheckedApp {
    /// The files, for rendering diagnostics.
    pub sources: SourceMap,
    /// What could be loaded; complete only when `diagnostics` has no errors.
    pub config: AppConfig,
    /// Every error and warning, in file order.
    pub diagnostics: Diagnostics,
}

/// Loads and validates an app: every error in every file, in one run.
pub fn check(input: AppInput) -> CheckedApp {
    let mut sources = SourceMap::new();
    let mut diagnostics = Diagnostics::new();
    let mut config = AppConfig::default();
    let parse =
        |file: Option<InputFile>, sources: &mut SourceMap, diagnostics: &mut Diagnostics| {
            file.map(|file| {
                let id = sources.add(file.name, file.path, file.text);
                (id, json::parse(id, sources.file(id).text(), diagnostics))
            })
        };
    if let Some((_, Some(json))) = parse(input.requests, &mut sources, &mut diagnostics) {
        config.templates = load::load_requests(&json, &mut diagnostics);
    }
    if let Some((id, Some(json))) = parse(input.oauth, &mut sources, &mut diagnostics) {
        config.oauth = load::load_oauth(&json, id, &mut diagnostics);
    }
    if let Some((_, Some(json))) = parse(input.iparams, &mut sources, &mut diagnostics) {
        config.iparams = load::load_iparams(&json, &mut diagnostics);
    }
    if let Some((id, Some(json))) = parse(input.manifest, &mut sources, &mut diagnostics) {
        config.manifest = load::load_manifest(&json, id, &mut diagnostics);
    }
    validate(&config, &mut diagnostics);
    diagnostics.sort();
    CheckedApp {
        sources,
        config,
        diagnostics,
    }
}
