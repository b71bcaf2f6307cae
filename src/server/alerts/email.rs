//! Email over SMTP (`--smtp-url`): `smtp://host:25` plain, `smtp://host:587?tls=required`
//! with STARTTLS, `smtps://host:465` with TLS from the start; credentials as
//! `smtp://user:password@host`.

use anyhow::Context;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    // The transport holds the SMTP password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|err| anyhow::anyhow!("--smtp-url is not an SMTP URL ({err})"))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        let from = from
            .parse()
            .with_context(|| format!("--smtp-from {from:?} is not an email address"))?;
        Ok(Self { transport, from })
    }

    /// Sends one message to every address that parses (others are named in the log).
    pub async fn send(&self, to: &[String], subject: &str, body: &str) -> anyhow::Result<()> {
        let mut message = Message::builder()
            .from(self.from.clone())
            .subject(one_line(subject));
        let mut any = false;
        for address in to {
            match address.parse::<Mailbox>() {
                Ok(mailbox) => {
                    message = message.to(mailbox);
                    any = true;
                }
                Err(_) => tracing::warn!(address, "not an email address; skipped"),
            }
        }
        if !any {
            anyhow::bail!("no recipient to email");
        }
        let message = message
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .context("building the email")?;
        self.transport
            .send(message)
            .await
            .context("sending the email")?;
        Ok(())
    }
}

/// A header value on one line: an endpoint's name may hold line breaks, which must not start
/// new headers.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
