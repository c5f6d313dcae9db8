//! Integration tests only ever talk to an emulator on this machine. Without an endpoint
//! override (or with one that points elsewhere) they stop with a clear message instead of
//! reaching real AWS with whatever credentials happen to be around.

const HOW: &str = "integration tests only run against the local emulator; run them with \
`make test` or `infra/dev/with-emulators.sh cargo test -p connector-health-tests`, which \
start moto and dynalite and export their endpoints";

/// Whether an endpoint URL points at this machine.
pub fn is_local(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or("");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

fn local_var(name: &str) -> String {
    match std::env::var(name) {
        Ok(url) if is_local(&url) => url,
        Ok(url) => panic!("{name} is {url:?}, which is not 127.0.0.1 or localhost: {HOW}"),
        Err(_) => panic!("{name} is not set: {HOW}"),
    }
}

/// The moto endpoint (`AWS_ENDPOINT_URL`), checked to be local.
pub fn endpoint() -> String {
    local_var("AWS_ENDPOINT_URL")
}

/// The dynalite endpoint (`DYNALITE_ENDPOINT_URL`), checked to be local.
pub fn dynalite_endpoint() -> String {
    local_var("DYNALITE_ENDPOINT_URL")
}

/// A variable `with-emulators.sh` exports (for example `EMULATOR_PYTHON`).
pub fn required_var(name: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| panic!("{name} is not set: {HOW}"))
}

#[cfg(test)]
mod tests {
    use super::is_local;

    #[test]
    fn only_loopback_endpoints_are_local() {
        for ok in [
            "http://127.0.0.1:4566",
            "http://localhost:8000/",
            "http://[::1]:9000",
            "https://127.0.0.1",
        ] {
            assert!(is_local(ok), "{ok}");
        }
        for bad in [
            "",
            "127.0.0.1:4566",
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://127.0.0.1.example.com:80",
            "http://localhost@evil.example",
            "http://10.0.0.1:4566",
        ] {
            assert!(!is_local(bad), "{bad}");
        }
    }
}
