"""Accounts and sign-in: `users.py` (accounts with bcrypt hashes, disabled or not), `sessions.py` (sign-in
sessions kept on the server: a random token in the cookie, its SHA-256 in the database), `throttle.py` (failed
sign-ins counted atomically per user name), `service.py` (`Accounts`: sign in, sign out, change or reset a
password, disable an account — each ends the sessions it must), `tokens.py` (personal access tokens for the HTTP
API: shown once, kept as an HMAC under the server's token key, checked and rate-limited in one UPDATE)."""
