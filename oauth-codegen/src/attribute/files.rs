//! The config files the attribute names, read from the user crate's folder.

use std::path::{Path, PathBuf};

use proc_macro2::TokenStream;
use quote::quote_spanned;

use super::args::{FileArg, FileKind};
use crate::app::{AppInput, InputFile};

/// What reading the files gave.
pub(super) struct Read {
    pub(super) input: AppInput,
    /// The files read (absolute paths): a change to one rebuilds the client.
    pub(super) tracked: Vec<String>,
    /// A `compile_error!` at the argument of each file that could not be read.
    pub(super) errors: Vec<TokenStream>,
}

pub(super) fn read(files: &[FileArg], manifest_dir: Option<&Path>) -> Read {
    let mut read = Read {
        input: AppInput::default(),
        tracked: Vec::new(),
        errors: Vec::new(),
    };
    for file in files {
        match read_file(file, manifest_dir) {
            Ok((path, text)) => {
                read.tracked.push(path.display().to_string());
                let input_file = Some(InputFile {
                    name: file.relative.clone(),
                    path,
                    text,
                });
                match file.kind {
                    FileKind::Requests => read.input.requests = input_file,
                    FileKind::OAuth => read.input.oauth = input_file,
                    FileKind::Iparams => read.input.iparams = input_file,
                    FileKind::Manifest => read.input.manifest = input_file,
                }
            }
            Err(message) => read
                .errors
                .push(quote_spanned!(file.span=> ::core::compile_error!(#message);)),
        }
    }
    read
}

fn read_file(file: &FileArg, manifest_dir: Option<&Path>) -> Result<(PathBuf, String), String> {
    let relative = Path::new(&file.relative);
    if relative.is_absolute() {
        return Err(format!(
            "`{}` is an absolute path; paths are relative to the crate's folder (CARGO_MANIFEST_DIR), as in `config/requests.json`",
            file.relative
        ));
    }
    let Some(dir) = manifest_dir else {
        return Err("CARGO_MANIFEST_DIR is not set: build the crate with cargo".to_string());
    };
    let path = dir.join(relative);
    match InputFile::read(&path, file.relative.clone()) {
        Ok(Some(input)) => Ok((path, input.text)),
        Ok(None) => Err(format!(
            "cannot find `{}`: looked at {}",
            file.relative,
            path.display()
        )),
        Err(error) => Err(error.to_string()),
    }
}
