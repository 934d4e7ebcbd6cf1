"""Mail delivery: transports (Maildir, SMTP) and the outbox loop that delivers each message once."""
