"""``transformers``: a local model path, batched generation (GPU users without a server)."""

from __future__ import annotations

from dada_plugin.errors import BackendError
from dataset_builders.rewrite.registry import Backend, Completion, register


def weights_fingerprint(folder: str) -> str:
    """Names, sizes and mtimes of a model folder's weight files: a re-merged or re-trained model
    at the same path gets new cache keys instead of stale generations."""
    import hashlib
    from pathlib import Path

    parts = [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
             for p in sorted(Path(folder).glob("*")) if p.suffix in (".safetensors", ".bin", ".json")]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@register("transformers")
class TransformersBackend(Backend):
    needs_model = True

    def identity(self) -> dict:
        return {**super().identity(), "weights": weights_fingerprint(self.options.model)}

    def complete(self, jobs, on_result) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        o = self.options
        try:
            tok = AutoTokenizer.from_pretrained(o.model, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(o.model, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load local model {o.model!r}: {exc}") from exc
        device = "cuda" if torch.cuda.is_available() else "cpu"
        model.to(device).eval()
        tok.padding_side = "left"
        if tok.pad_token is None:
            tok.pad_token = tok.unk_token or tok.eos_token
        if o.seed is not None:
            torch.manual_seed(o.seed)
        jobs = list(jobs)
        for start in range(0, len(jobs), o.batch_size):
            batch = jobs[start:start + o.batch_size]
            prompts = [tok.apply_chat_template(j.messages, tokenize=False, add_generation_prompt=True)
                       for j in batch]
            enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            sample = o.temperature > 0
            with torch.no_grad():
                out = model.generate(**enc, max_new_tokens=o.max_new_tokens, do_sample=sample,
                                     temperature=o.temperature if sample else None,
                                     top_p=o.top_p if sample else None,
                                     pad_token_id=tok.pad_token_id)
            width = enc["input_ids"].shape[1]
            for job, row in zip(batch, out):
                new = row[width:]
                ended = bool((new == tok.eos_token_id).any())
                text = tok.decode(new, skip_special_tokens=True)
                on_result(job, Completion(text, "stop" if ended else "length"))
