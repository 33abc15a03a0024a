//! Creating the first coordinator of a fresh clbchat server from its one-time setup link
//! (`http://HOST:PORT/setup#token=…`): `POST /api/setup` with the token, a user name, an
//! alias and a password, as the setup page does. One small HTTP/1.1 request over a plain
//! socket, so the load generator needs no HTTP client library.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// Where a setup link points and its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupLink {
    /// `HOST:PORT`.
    pub authority: String,
    /// The one-time token.
    pub token: String,
}

impl SetupLink {
    /// Reads a link as the server prints it.
    pub fn parse(link: &str) -> Result<SetupLink> {
        let bad = || {
            Error::Usage(format!(
                "--setup-link: expected http://HOST:PORT/setup#token=…, as the server prints \
                 it (got `{}`)",
                link.chars().take(60).collect::<String>()
            ))
        };
        let rest = link.trim().strip_prefix("http://").ok_or_else(bad)?;
        let (authority, tail) = rest.split_once('/').ok_or_else(bad)?;
        let token = tail.strip_prefix("setup#token=").ok_or_else(bad)?;
        if authority.is_empty() || token.is_empty() {
            return Err(bad());
        }
        Ok(SetupLink {
            authority: authority.to_owned(),
            token: token.to_owned(),
        })
    }
}

/// Creates the first coordinator with the link.
pub async fn first_coordinator(link: &str, username: &str, password: &str) -> Result<()> {
    let link = SetupLink::parse(link)?;
    let body = serde_json::json!({
        "token": link.token,
        "username": username,
        "alias": "Load coordinator",
        "password": password,
    })
    .to_string();
    let request = format!(
        "POST /api/setup HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        link.authority,
        body.len()
    );
    let what = || format!("POST http://{}/api/setup", link.authority);
    let mut stream = TcpStream::connect(&link.authority)
        .await
        .map_err(|e| Error::io(what(), e))?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| Error::io(what(), e))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|e| Error::io(what(), e))?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default();
    if status.contains(" 201 ") || status.contains(" 200 ") {
        return Ok(());
    }
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    Err(Error::Refused {
        what: what(),
        code: status.to_owned(),
        message: body.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::SetupLink;

    #[test]
    fn the_printed_link_is_understood() {
        let l = SetupLink::parse("http://127.0.0.1:8080/setup#token=abc_DEF-1").expect("parses");
        assert_eq!(l.authority, "127.0.0.1:8080");
        assert_eq!(l.token, "abc_DEF-1");
        assert!(SetupLink::parse("https://x/setup#token=a").is_err());
        assert!(SetupLink::parse("http://x/setup").is_err());
    }
}
