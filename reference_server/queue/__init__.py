"""The outgoing queue: spooled messages for other domains and the SMTP client that relays them."""
