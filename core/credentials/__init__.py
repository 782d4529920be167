"""Users' provider credentials: `store.py` keeps them encrypted (one row per user and provider; pages only get a
masked public view) with what the app learned about each key; `key_test.py` tests a key with the provider's
cheapest authenticated call on save and on Test again; `rotation.py` re-encrypts every row under the newest
master key and notices a changed key at start."""
