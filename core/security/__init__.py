"""The app's own secrets: `crypto.py` is the AES-256-GCM key ring (a credential is encrypted in `KeyRing.encrypt`,
bound to its user and provider); `keys.py` loads the master keys (APP_MASTER_KEY, a file, or one generated into
the data folder) and the API token key (APP_TOKEN_KEY, or `token.key` in the data folder); `shared.py` names the
secrets every process must share (SHARED_SECRETS) and refuses to start a deployment on a database server while one
is unset; `redaction.py` is the log filter that masks the secrets of the call in progress."""
