"""The files API of `ladder serve`: /v1/files (upload, list, retrieve, content, delete).

Uploads are refused above `max_upload_bytes` (413). A file's bytes live under
`<data_dir>/files/<id>` and its object in the server's SQLite state, so both survive a restart.
"""

import json
from typing import Any

from ladder.serve.state import ServeState

PURPOSES = ("fine-tune", "batch", "assistants", "user_data", "evals")


def page(items: list[dict[str, Any]], after: str | None, limit: int) -> dict[str, Any]:
    """OpenAI's cursor page over `items` (already in the order listed)."""
    ids = [i["id"] for i in items]
    start = ids.index(after) + 1 if after in ids else 0
    limit = max(1, min(limit, 100))
    return {"object": "list", "data": items[start : start + limit], "has_more": start + limit < len(items),
            "first_id": ids[start] if start < len(ids) else None,
            "last_id": ids[min(start + limit, len(ids)) - 1] if start < len(ids) else None}


async def read_json_body(request: Any, ApiError: type) -> dict[str, Any]:  # noqa: N803
    """The request's JSON object, or a 400 in OpenAI's error shape."""
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def files_router(state: ServeState, max_upload_bytes: int, ApiError: type) -> Any:  # noqa: N803
    from fastapi import APIRouter, File, Form, UploadFile
    from fastapi.responses import Response

    r = APIRouter(prefix="/v1")

    def file_or_404(file_id: str) -> dict[str, Any]:
        f = state.get("files", file_id)
        if f is None:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return f

    @r.post("/files")
    async def upload(file: UploadFile = File(...), purpose: str = Form(...)) -> dict[str, Any]:
        if purpose not in PURPOSES:
            raise ApiError(400, f"purpose: unsupported purpose {purpose!r}", param="purpose")
        content = await file.read(max_upload_bytes + 1)
        if len(content) > max_upload_bytes:
            raise ApiError(413, f"file: larger than this server's upload limit of {max_upload_bytes} bytes "
                           "(--max-upload-bytes)", param="file", code="file_too_large")
        return state.add_file(file.filename or "upload.jsonl", purpose, content)

    @r.get("/files")
    def list_files(purpose: str | None = None, after: str | None = None, limit: int = 100) -> dict[str, Any]:
        items = [f for f in state.all("files") if purpose is None or f["purpose"] == purpose]
        return page(items, after, limit)

    @r.get("/files/{file_id}")
    def get_file(file_id: str) -> dict[str, Any]:
        return file_or_404(file_id)

    @r.get("/files/{file_id}/content")
    def file_content(file_id: str) -> Any:
        file_or_404(file_id)
        return Response(state.file_path(file_id).read_bytes(), media_type="application/octet-stream")

    @r.delete("/files/{file_id}")
    def delete_file(file_id: str) -> dict[str, Any]:
        file_or_404(file_id)
        state.delete("files", file_id)
        state.file_path(file_id).unlink(missing_ok=True)
        return {"id": file_id, "object": "file", "deleted": True}

    return r
