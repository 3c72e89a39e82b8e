"""E-mail delivery (Target.EMAIL) over SMTP."""
