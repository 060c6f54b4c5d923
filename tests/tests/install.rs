//! Installing the tools as a user would: scripts/install into a prefix (man pages that
//! `man` opens, completions that complete, an uninstall that removes exactly what was
//! installed) and scripts/package's .deb, unpacked and run.

mod support;

use std::path::Path;
use std::process::Command;

const TOOLS: [&str; 5] = [
    "sign-login",
    "verify-login",
    "fetch-secret",
    "mint-creds",
    "revoke-lease",
];

/// The directory of the built binaries (the test's own build of them).
fn bin_dir() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("verify-login")
        .parent()
        .unwrap()
        .to_path_buf()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// The completion bash offers for `line` (the cursor at its end).
fn bash_completes(script: &Path, line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let function = format!("_{}", words[0].replace('-', "__"));
    run(Command::new("bash").arg("-c").arg(format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; \
         {function} {} '{}' {}; echo \"${{COMPREPLY[@]}}\"",
        script.display(),
        words.join(" "),
        words.len() - 1,
        words[0],
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    )))
}

#[test]
fn install_man_completion_and_uninstall() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("x");
    // A directory that was there before the install, empty, as /usr/local/share/man
    // often is: --uninstall leaves it.
    std::fs::create_dir_all(prefix.join("share/man")).unwrap();
    let out = run(Command::new(support::root().join("scripts/install"))
        .args(["--prefix"])
        .arg(&prefix)
        .arg("--bin-dir")
        .arg(bin_dir()));
    let files = files_under(&prefix);
    for t in TOOLS {
        for f in [
            format!("bin/{t}"),
            format!("share/man/man1/{t}.1"),
            format!("share/bash-completion/completions/{t}"),
            format!("share/zsh/site-functions/_{t}"),
            format!("share/fish/vendor_completions.d/{t}.fish"),
        ] {
            assert!(files.contains(&f), "{f} not installed: {files:?}");
            assert!(
                out.contains(&format!("installed {}", prefix.join(&f).display())),
                "{out}"
            );
        }
    }
    for f in [
        "config.toml",
        "broker-policy.json",
        "crontab",
        "vaultless-sweep.service",
        "vaultless-sweep.timer",
    ] {
        assert!(
            files.contains(&format!("share/doc/vaultless/{f}")),
            "{f}: {files:?}"
        );
    }
    // The example config is one the tools load.
    common::config::parse(
        &std::fs::read_to_string(prefix.join("share/doc/vaultless/config.toml")).unwrap(),
        Path::new("config.toml"),
    )
    .unwrap();
    // The installed broker finds the installed tools; a unit's own app stays put.
    let broker = std::fs::read_to_string(prefix.join("share/vaultless/vaultless-broker")).unwrap();
    assert!(
        broker.contains(&format!(
            "PATH=${{VAULTLESS_BIN_DIR:-{}/bin}}",
            prefix.display()
        )),
        "{broker}"
    );
    let app = std::fs::read_to_string(prefix.join("share/doc/vaultless/app-with-secrets.service"))
        .unwrap();
    assert!(
        app.contains("ExecStart=/usr/local/bin/app")
            && app.contains(&format!("{}/bin/fetch-secret", prefix.display())),
        "{app}"
    );
    let unit = std::fs::read_to_string(prefix.join("share/doc/vaultless/vaultless-sweep.service"))
        .unwrap();
    assert!(
        unit.contains(&format!(
            "ExecStart={}/bin/revoke-lease --expired",
            prefix.display()
        )),
        "{unit}"
    );

    // man -M PREFIX/share/man verify-login opens the page.
    if support::have("man", Command::new("man").arg("--version").output().is_ok()) {
        let page = run(Command::new("man")
            .env_remove("MANPATH")
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .arg("-M")
            .arg(prefix.join("share/man"))
            .arg("verify-login"));
        assert!(
            page.contains("EXIT STATUS") && page.contains("allowed_sts_hosts"),
            "{page}"
        );
    }
    // bash completes verify-login --con<TAB>.
    let completion = prefix.join("share/bash-completion/completions/verify-login");
    assert_eq!(
        bash_completes(&completion, "verify-login --con").trim(),
        "--config"
    );
    assert_eq!(
        run(Command::new(prefix.join("bin/verify-login")).arg("--version")).trim(),
        format!("verify-login {}", env!("CARGO_PKG_VERSION"))
    );

    // --uninstall removes exactly what was installed.
    std::fs::write(prefix.join("bin/not-ours"), "").unwrap();
    run(Command::new(support::root().join("scripts/install"))
        .args(["--uninstall", "--prefix"])
        .arg(&prefix));
    assert_eq!(files_under(&prefix), ["bin/not-ours"]);
    assert!(
        prefix.join("share/man").is_dir(),
        "a directory that was there stays"
    );
    assert!(
        !prefix.join("share/man/man1").exists(),
        "one the install made goes"
    );
    assert!(
        !prefix.join("share/doc").exists(),
        "one the install made goes"
    );
}

#[test]
fn debian_package_installs_runs_and_opens_its_man_pages() {
    let found = Command::new("dpkg-deb").arg("--version").output().is_ok();
    if !support::have("dpkg-deb", found) {
        return;
    }
    let deb = run(Command::new(support::root().join("scripts/package"))
        .env("DEB_COMPRESSION", "gzip")
        .arg("--bin-dir")
        .arg(bin_dir()));
    let deb = deb.trim();
    assert!(deb.ends_with(".deb"), "{deb}");
    let fields = run(Command::new("dpkg-deb").args(["-f", deb]));
    assert!(fields.contains("Package: vaultless"), "{fields}");
    assert!(fields.contains("Depends: libc6"), "{fields}");
    assert!(
        run(Command::new("dpkg-deb").args(["-I", deb, "conffiles"]))
            .contains("/etc/vaultless/config.toml")
    );
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb").args(["-x", deb]).arg(dir.path()));
    let root = dir.path();
    for t in TOOLS {
        let version = run(Command::new(root.join("usr/bin").join(t)).arg("--version"));
        assert_eq!(version.trim(), format!("{t} {}", env!("CARGO_PKG_VERSION")));
        let page = root.join(format!("usr/share/man/man1/{t}.1.gz"));
        assert!(page.exists(), "{}", page.display());
        if support::have("man", Command::new("man").arg("--version").output().is_ok()) {
            let text = run(Command::new("man")
                .env("MANPAGER", "cat")
                .arg("-l")
                .arg(&page));
            assert!(
                text.contains(t) && text.contains("EXIT STATUS"),
                "{t}: {text}"
            );
        }
    }
    for f in [
        "lib/systemd/system/vaultless-sweep.service",
        "lib/systemd/system/vaultless-sweep.timer",
        "etc/vaultless/config.toml",
        "usr/share/bash-completion/completions/verify-login",
    ] {
        assert!(root.join(f).exists(), "{f} is not in the package");
    }
    let unit =
        std::fs::read_to_string(root.join("lib/systemd/system/vaultless-sweep.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/bin/revoke-lease --expired"),
        "{unit}"
    );
    // The conffile loads and sets nothing: a workload host that installs the package
    // neither waits for an identity on stdin nor needs an audit directory.
    let conffile = std::fs::read_to_string(root.join("etc/vaultless/config.toml")).unwrap();
    let config = common::config::parse(&conffile, Path::new("/etc/vaultless/config.toml"))
        .expect("the conffile loads");
    assert!(!config.broker.require_identity, "{conffile}");
    assert!(config.audit.path.is_none(), "{conffile}");
    assert!(conffile.contains("# require_identity = true"), "{conffile}");
    // The broker runs the packaged tools.
    let broker =
        std::fs::read_to_string(root.join("usr/share/vaultless/vaultless-broker")).unwrap();
    assert!(
        broker.contains("PATH=${VAULTLESS_BIN_DIR:-/usr/bin}"),
        "{broker}"
    );
}
