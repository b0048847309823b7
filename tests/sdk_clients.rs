//! hookd against independent MCP clients: the official Python SDK (`mcp` 2.x) and the official
//! TypeScript SDK, each over Streamable HTTP and stdio. `scripts/test` installs both SDKs; without
//! them these tests report themselves skipped, except under `CI=true`, where a missing SDK fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter to use, or `None` (after saying so) when this machine lacks it.
fn runtime(test: &str, path: PathBuf, install_hint: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let why = format!("{} is missing ({install_hint})", path.display());
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {why}"
    );
    eprintln!("SKIPPED {test}: {why}");
    None
}

fn run(test: &str, mut cmd: Command) {
    let out = cmd.output().expect("client runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{test} failed:\n{stdout}");
    assert!(
        stdout.contains(" passed, 0 failed"),
        "{test} reported no result"
    );
}

#[test]
fn official_python_sdk_client() {
    let python = std::env::var_os("HOOKD_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/pyenv/bin/python"));
    let Some(python) = runtime("official_python_sdk_client", python, "run scripts/test") else {
        return;
    };
    let mut cmd = Command::new(python);
    cmd.arg(root().join("tests/python/sdk_client.py"))
        .arg(env!("CARGO_BIN_EXE_hookd"));
    run("official_python_sdk_client", cmd);
}

#[test]
fn official_typescript_sdk_client() {
    let sdk = root().join("tests/node/node_modules/@modelcontextprotocol/sdk");
    let Some(_) = runtime("official_typescript_sdk_client", sdk, "run scripts/test") else {
        return;
    };
    let mut cmd = Command::new("node");
    cmd.arg(root().join("tests/node/sdk_client.mjs"))
        .arg(env!("CARGO_BIN_EXE_hookd"));
    run("official_typescript_sdk_client", cmd);
}
