"""The domain: who is acting (`principal`) and what they may do (`policy`). Pure: no I/O, no engine,
no adapters; the directory and the API register arrive as ports."""
