//! Running a `run` trigger's program: no shell, a process group of its own, an environment of
//! only what the trigger names plus `PATH`, `HOME` and the `HOOKD_*` values, the events on stdin,
//! the last 64 KiB of stdout and stderr kept. At the timeout the whole group gets SIGTERM, and
//! SIGKILL 5 s later; dropping a run that has not ended (hookd stopping) kills the group at once.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// How much of a run's output is kept: its end.
pub const OUTPUT_KEPT: usize = 64 * 1024;

/// How long a program has after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(5);

/// How long output is still read after the program exited (a child it left behind may hold the
/// pipes open).
const DRAIN: Duration = Duration::from_secs(2);

/// How an attempt ended.
#[derive(Debug)]
pub struct Ended {
    pub success: bool,
    pub exit_code: Option<i32>,
    pub output: String,
    /// What went wrong, when it was not the program's own exit status.
    pub error: Option<String>,
}

/// The end of what a program wrote, at most [`OUTPUT_KEPT`] bytes.
#[derive(Default)]
pub struct Tail(VecDeque<u8>);

impl Tail {
    pub fn push(&mut self, bytes: &[u8]) {
        let bytes = &bytes[bytes.len().saturating_sub(OUTPUT_KEPT)..];
        let over = (self.0.len() + bytes.len()).saturating_sub(OUTPUT_KEPT);
        self.0.drain(..over);
        self.0.extend(bytes);
    }

    pub fn text(&self) -> String {
        let (a, b) = self.0.as_slices();
        String::from_utf8_lossy(&[a, b].concat()).into_owned()
    }
}

/// Kills the program's group if the run is dropped before the program was reaped.
struct Group {
    pid: Option<u32>,
}

impl Group {
    fn signal(&self, kill: bool) {
        #[cfg(target_os = "linux")]
        if let Some(pid) = self
            .pid
            .and_then(|p| rustix::process::Pid::from_raw(p as i32))
        {
            use rustix::process::Signal;
            let sig = if kill { Signal::KILL } else { Signal::TERM };
            let _ = rustix::process::kill_process_group(pid, sig);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = kill;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(true);
    }
}

/// Runs `argv` with `env` (and nothing else of hookd's environment but `PATH` and `HOME`),
/// `input` on stdin, for at most `timeout`.
pub async fn run(
    argv: &[String],
    env: &[(String, String)],
    input: Vec<u8>,
    timeout: Duration,
) -> Ended {
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .env_clear()
        .envs(
            ["PATH", "HOME"]
                .iter()
                .filter_map(|k| Some((k, std::env::var_os(k)?))),
        )
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Ended {
                success: false,
                exit_code: None,
                output: String::new(),
                error: Some(format!("could not start {:?}: {e}", argv[0])),
            };
        }
    };
    let mut group = Group { pid: child.id() };
    let tail = Arc::new(Mutex::new(Tail::default()));
    let readers = [
        child.stdout.take().map(|o| read_into(o, tail.clone())),
        child.stderr.take().map(|e| read_into(e, tail.clone())),
    ];
    let writer = child.stdin.take().map(|mut stdin| {
        tokio::spawn(async move {
            // A program that does not read its input closes the pipe: not an error of the run.
            let _ = stdin.write_all(&input).await;
        })
    });
    let (status, error) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => (status.ok(), None),
        Err(_) => {
            let status = stop(&mut child, &group).await;
            let secs = timeout.as_secs_f64();
            (
                status,
                Some(format!(
                    "timed out after {secs}s: its process group was killed"
                )),
            )
        }
    };
    // Reaped: the group id may be reused from here on, so it is never signalled again.
    group.pid = None;
    if let Some(w) = writer {
        w.abort();
    }
    for reader in readers.into_iter().flatten() {
        if tokio::time::timeout(DRAIN, reader).await.is_err() {
            tracing::debug!("a run's output was still open after it exited");
        }
    }
    let output = tail.lock().map(|t| t.text()).unwrap_or_default();
    let exit_code = status.and_then(|s| s.code());
    let signalled = status
        .filter(|s| s.code().is_none())
        .map(|s| format!("ended by a signal ({s})"));
    Ended {
        success: error.is_none() && status.is_some_and(|s| s.success()),
        exit_code,
        output,
        error: error.or(signalled),
    }
}

/// SIGTERM to the group, then SIGKILL after [`TERM_GRACE`]; the leader's status once reaped.
async fn stop(child: &mut Child, group: &Group) -> Option<std::process::ExitStatus> {
    group.signal(false);
    if let Ok(status) = tokio::time::timeout(TERM_GRACE, child.wait()).await {
        group.signal(true);
        return status.ok();
    }
    group.signal(true);
    let _ = child.start_kill();
    child.wait().await.ok()
}

fn read_into(
    mut from: impl AsyncRead + Unpin + Send + 'static,
    tail: Arc<Mutex<Tail>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if let Ok(mut t) = tail.lock() {
                t.push(&buf[..n]);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes() {
        let mut t = Tail::default();
        t.push(&vec![b'a'; OUTPUT_KEPT - 3]);
        t.push(b"bcdef");
        let text = t.text();
        assert_eq!(text.len(), OUTPUT_KEPT);
        assert!(text.starts_with("aaa") && text.ends_with("bcdef"));
        t.push(&vec![b'z'; OUTPUT_KEPT + 10]);
        assert_eq!(t.text(), "z".repeat(OUTPUT_KEPT));
    }
}
