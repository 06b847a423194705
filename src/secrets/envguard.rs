//! Which environment variables a committed project vault may release into.
//!
//! A project vault (`.patina/vault.age` + its `meta.env` mapping) is written by anyone who holds a
//! recipient key — a teammate, or whoever got a commit in. Mapping a value to `LD_PRELOAD`,
//! `BASH_ENV` or `GIT_SSH_COMMAND` would run their code inside `patina secrets run`. So variables
//! that change how programs are loaded, which code they run, where they look for configuration,
//! which hosts or certificates they trust, are refused from a project mapping unless the user
//! allows them by name in their own config:
//!
//! ```toml
//! [secrets]
//! allow_project_env = ["PATH"]
//! ```
//!
//! The global vault (the user's own) is not restricted. The full list is in docs/ARCHITECTURE.md
//! and below ([`EXACT`], [`PREFIXES`]).

/// Variables refused by exact name, with why.
pub const EXACT: &[(&str, &str)] = &[
    // The dynamic loader and what programs execute
    ("PATH", "where programs are found"),
    ("IFS", "how the shell splits words"),
    ("ENV", "a file sh runs at start"),
    ("BASH_ENV", "a file bash runs at start"),
    ("SHELLOPTS", "shell options"),
    ("BASHOPTS", "shell options"),
    ("PS4", "runs in traced shells"),
    ("PROMPT_COMMAND", "runs before each prompt"),
    ("CDPATH", "where cd looks"),
    ("ZDOTDIR", "where zsh reads its start files"),
    ("SHELL", "the shell programs start"),
    ("HOME", "where programs read their configuration"),
    ("TMPDIR", "where programs put temporary files"),
    ("EDITOR", "a program others start"),
    ("VISUAL", "a program others start"),
    ("PAGER", "a program others start"),
    ("MANPAGER", "a program others start"),
    ("BROWSER", "a program others start"),
    ("LESSOPEN", "a program less starts"),
    ("LESSCLOSE", "a program less starts"),
    ("SSH_ASKPASS", "a program ssh starts"),
    ("SUDO_ASKPASS", "a program sudo starts"),
    ("SSH_AUTH_SOCK", "which ssh agent signs for you"),
    ("GNUPGHOME", "which gpg keys are used"),
    ("GCONV_PATH", "libc loads code from it"),
    ("LOCPATH", "libc loads locale data from it"),
    ("NLSPATH", "libc loads message catalogs from it"),
    ("HOSTALIASES", "how host names resolve"),
    ("RESOLV_HOST_CONF", "how host names resolve"),
    ("LOCALDOMAIN", "how host names resolve"),
    ("RES_OPTIONS", "how host names resolve"),
    ("GLIBC_TUNABLES", "libc behaviour"),
    // Language runtimes and build tools that load code from the environment
    ("NODE_OPTIONS", "code node loads"),
    ("NODE_PATH", "where node loads modules"),
    ("NODE_EXTRA_CA_CERTS", "which certificates node trusts"),
    ("JAVA_TOOL_OPTIONS", "agents the JVM loads"),
    ("JDK_JAVA_OPTIONS", "agents the JVM loads"),
    ("JAVA_OPTIONS", "agents the JVM loads"),
    ("CLASSPATH", "where Java loads classes"),
    ("PHPRC", "php configuration"),
    ("PHP_INI_SCAN_DIR", "php configuration"),
    ("CC", "the compiler builds run"),
    ("CXX", "the compiler builds run"),
    ("CPP", "the preprocessor builds run"),
    ("LD", "the linker builds run"),
    ("AR", "a tool builds run"),
    ("CFLAGS", "compiler flags (plugins)"),
    ("CXXFLAGS", "compiler flags (plugins)"),
    ("CPPFLAGS", "compiler flags"),
    ("LDFLAGS", "linker flags"),
    ("MAKEFLAGS", "make options"),
    ("RUSTC", "the compiler cargo runs"),
    ("RUSTC_WRAPPER", "a program cargo runs"),
    ("RUSTC_WORKSPACE_WRAPPER", "a program cargo runs"),
    ("RUSTFLAGS", "compiler flags"),
    ("RUSTDOCFLAGS", "rustdoc flags"),
    ("GOFLAGS", "go tool flags"),
    ("GOPROXY", "where go downloads code"),
    ("GOENV", "go configuration"),
    ("DOCKER_HOST", "which docker daemon runs your commands"),
    ("DOCKER_CONFIG", "docker configuration"),
    ("KUBECONFIG", "which cluster kubectl talks to"),
    (
        "AWS_CONFIG_FILE",
        "aws configuration (credential_process runs code)",
    ),
    ("AWS_SHARED_CREDENTIALS_FILE", "aws credentials"),
    // Where traffic goes and whom it trusts
    ("HTTP_PROXY", "where web traffic goes"),
    ("HTTPS_PROXY", "where web traffic goes"),
    ("ALL_PROXY", "where traffic goes"),
    ("NO_PROXY", "where traffic goes"),
    ("SSL_CERT_FILE", "which certificates are trusted"),
    ("SSL_CERT_DIR", "which certificates are trusted"),
    ("CURL_CA_BUNDLE", "which certificates curl trusts"),
    (
        "REQUESTS_CA_BUNDLE",
        "which certificates python requests trusts",
    ),
    ("OPENSSL_CONF", "openssl configuration (loads engines)"),
    ("OPENSSL_ENGINES", "code openssl loads"),
];

/// Variables refused by prefix, with why.
pub const PREFIXES: &[(&str, &str)] = &[
    (
        "LD_",
        "the dynamic loader (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT)",
    ),
    ("DYLD_", "the macOS dynamic loader"),
    ("MALLOC_", "the allocator"),
    (
        "GIT_",
        "git (GIT_SSH_COMMAND, GIT_CONFIG_*, GIT_EXEC_PATH, GIT_ASKPASS run code)",
    ),
    ("PYTHON", "python (PYTHONPATH, PYTHONSTARTUP, PYTHONHOME)"),
    ("PERL", "perl (PERL5LIB, PERL5OPT)"),
    ("RUBY", "ruby (RUBYOPT, RUBYLIB)"),
    ("LUA_", "lua (LUA_PATH, LUA_INIT)"),
    (
        "NPM_CONFIG_",
        "npm configuration (script-shell, node-options)",
    ),
    ("CARGO_", "cargo configuration (runners, wrappers)"),
    ("DOTNET_", ".NET (startup hooks)"),
    ("CORECLR_", ".NET profilers"),
    ("XDG_", "where programs read their configuration"),
];

/// Why `var` may not come from a committed project mapping, or `None` when it may.
pub fn danger(var: &str) -> Option<&'static str> {
    if let Some((_, why)) = EXACT.iter().find(|(n, _)| *n == var) {
        return Some(why);
    }
    PREFIXES
        .iter()
        .find(|(p, _)| var.starts_with(p))
        .map(|(_, why)| *why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loaders_shells_and_runtimes_are_refused() {
        for v in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "ENV",
            "PATH",
            "PYTHONPATH",
            "NODE_OPTIONS",
            "GIT_SSH",
            "GIT_SSH_COMMAND",
            "GIT_CONFIG_COUNT",
            "PERL5LIB",
            "RUBYOPT",
            "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER",
        ] {
            assert!(danger(v).is_some(), "{v}");
        }
        for v in [
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "NODE_AUTH_TOKEN",
            "DATABASE_URL",
            "API_KEY",
            "NPM_TOKEN",
        ] {
            assert!(danger(v).is_none(), "{v}");
        }
    }
}
