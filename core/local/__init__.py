"""Local models from Hugging Face: checked with the user's own token, downloaded to this server, run here.

- `service.py`: LocalModels, what front ends call (the user first): suggest, plan, download, cancel, list,
  remove, and the gate chat passes before a local model answers.
- `curated.py`: the suggested models, with their disk and memory needs.
- `access.py`: may this user download / chat with this model? Asked with their token, remembered 10 minutes; a
  grant verified in the last 24 hours holds while the Hub cannot be reached.
- `files.py`: which files of a repo come (safetensors + configs + tokenizer, or one GGUF quantization).
- `plan.py`: the exact files and sizes before a download (a dry run), and the disk check.
- `download.py`, `download_worker.py`: one download per repo, in a child process (cancel ends it), progress read
  from the bytes on disk; unfinished files of a killed download are cleaned at start. `folder_lock.py`: a running
  download holds its folder (replicas sharing a models folder keep each other's partial files; a second download
  of the same model waits for the first).
- `library.py`: the downloaded models (who, when, size) and each user's own list of them.
- `folders.py`: what a model folder holds (which runtime runs it, the memory it needs).
- `generation.py`, `runtime.py`, `runtime_transformers.py`, `runtime_llamacpp.py`: a generation (text pieces,
  real usage, cancel) and the two runtimes that produce it.
- `pool.py`: loaded models shared by every session (LRU, memory check), one generation at a time.
- `provider.py`: the litellm custom provider `local/…`, so a local reply takes the providers' own path.
- `errors.py`: LocalModelError.

A user's Hugging Face token reaches only the call that needs it (`token=`; the download's child reads it from
stdin), never a log, the environment, a job record or the library's login.
"""
