"""Mail storage shared by SMTP delivery, POP3 and IMAP: Maildir(++) on disk plus a UID index.

`api` is the interface every protocol server uses; `store.MaildirStore` implements it. The
package itself imports nothing, so depending on the interface never loads the implementation.

Modules, one job each: names (folder/user names, Maildir++ directory names), maildir (file
names, flag letters), wiresize (CRLF octet counts), incoming (receiving a message), durable
(fsync'd files and directories), index (per-folder UID index and locks), layout (paths under
the mail root), delivery (one message into many folders), flush (making a batch of files and
directories durable at once), pools (the process-wide threads for that work), groupcommit (sharing
flushes between concurrent deliveries), store (MaildirStore).
"""
