"""A small user agent: compose and submit mail, list, read and download it.

The mail system's third actor next to the servers. Composition is pure (flags to an
`email.message.EmailMessage`); submission and retrieval are thin edges over the standard
library's `smtplib` and `poplib`, so what is tested is the reference server seen through
clients it did not write. Retrieval sits behind `retrieve.RemoteMailbox`, so an IMAP
backend can join POP3 without touching the commands.
"""
