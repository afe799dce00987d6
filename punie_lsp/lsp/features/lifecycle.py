"""Session lifecycle and workspace events: initialize, initialized, configuration, folders, files, shutdown.

`initialize` reads `initializationOptions`; `initialized` starts ty in the background (requests that need
it wait for it, bounded), asks for the `punie` configuration section per folder when the client offers
`workspace/configuration`, and registers a `**/*.py` file watcher when the client allows it, so edits made
outside the editor (a `git checkout`) reach the project index.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from punie_lsp.lsp.config import CONFIG_SECTION, parse_settings
from punie_lsp.lsp.features.diagnostics import revalidate_all
from punie_lsp.lsp.server import PunieLanguageServer
from punie_lsp.lsp.ty_proxy import TyProxy

__all__ = ("register",)

WATCHER_ID = "punie-watch-python"


def initialize(ls: PunieLanguageServer, params: types.InitializeParams) -> None:
    """Read `initializationOptions` (bad values are reported once `initialized` can log)."""
    ls.settings, problems = parse_settings(params.initialization_options)
    ls.startup_problems.extend(f"initializationOptions: {p}" for p in problems)


async def initialized(ls: PunieLanguageServer, params: types.InitializedParams) -> None:
    """Report setting problems, start ty, read folder configuration, watch Python files."""
    del params
    for problem in ls.startup_problems:
        ls.log(f"Punie: ignoring invalid setting {problem}", types.MessageType.Warning)
    ls.startup_problems.clear()
    if ls.settings.ty.enabled:
        ls.ty = TyProxy(
            root_uri=ls.workspace.root_uri,
            workspace_folders=list(ls.workspace.folders.values()),
            capabilities=ls.client_capabilities,
            position_encoding=ls.workspace.position_encoding or types.PositionEncodingKind.Utf16,
            binary=ls.settings.ty.path,
            request_timeout=ls.settings.ty.request_timeout_ms / 1000,
        )
        ls.spawn(_start_ty(ls, ls.ty))
    if _supports_configuration(ls):
        await _pull_configuration(ls)
    _apply_domain_settings(ls)
    if _can_watch(ls):
        ls.spawn(_watch_python_files(ls))


async def _watch_python_files(ls: PunieLanguageServer) -> None:
    registration = types.Registration(
        id=WATCHER_ID,
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern="**/*.py")]
        ),
    )
    try:
        await ls.client_register_capability_async(types.RegistrationParams(registrations=[registration]))
    except Exception as exc:  # without the watcher, disk changes are seen when a buffer is opened or saved
        ls.log(f"Punie: could not watch Python files ({exc})", types.MessageType.Info)


async def _start_ty(ls: PunieLanguageServer, proxy: TyProxy) -> None:
    await proxy.start()
    if not proxy.available:
        ls.log(f"Punie: running without ty ({proxy.last_error})", types.MessageType.Warning)


def _supports_configuration(ls: PunieLanguageServer) -> bool:
    ws = ls.client_capabilities.workspace
    return bool(ws is not None and ws.configuration)


def _can_watch(ls: PunieLanguageServer) -> bool:
    ws = ls.client_capabilities.workspace
    watched = ws.did_change_watched_files if ws is not None else None
    return bool(watched is not None and watched.dynamic_registration)


async def _pull_configuration(ls: PunieLanguageServer) -> None:
    """Ask the client for the `punie` section of every folder (and of the whole workspace)."""
    roots = ls.folder_roots()
    items = [types.ConfigurationItem(section=CONFIG_SECTION)]
    items += [types.ConfigurationItem(scope_uri=root.as_uri(), section=CONFIG_SECTION) for root in roots]
    try:
        answers = await ls.workspace_configuration_async(types.ConfigurationParams(items=items))
    except Exception as exc:  # a client that advertises configuration but fails it: keep the options
        ls.log(f"Punie: workspace/configuration failed: {exc}", types.MessageType.Warning)
        return
    answers = list(answers or [])
    global_settings, problems = parse_settings(answers[0] if answers else None)
    for problem in problems:
        ls.log(f"Punie: ignoring invalid setting {problem}", types.MessageType.Warning)
    ls.folder_settings = {}
    for root, answer in zip(roots, answers[1:], strict=False):
        folder, problems = parse_settings(answer)
        for problem in problems:
            ls.log(f"Punie: ignoring invalid setting for `{root}`: {problem}", types.MessageType.Warning)
        ls.folder_settings[root] = global_settings.merged(folder)
    if not roots and answers:
        ls.folder_settings = {}
        ls.settings = ls.settings.merged(global_settings)


def _apply_domain_settings(ls: PunieLanguageServer) -> None:
    """Give the domain service each root's effective rule selection and severities."""
    roots = set(ls.folder_roots()) | set(ls.folder_settings)
    for doc in ls.open_documents():
        if (where := ls.locate(doc.uri)) is not None:
            roots.add(where[0])
    for root in roots:
        project = ls.domain.project_settings(root)
        ls.domain.set_domain_settings(root, ls.settings_for(root).domain(project))
        if (problem := ls.domain.settings_problems.get(root)) is not None:
            ls.log(f"Punie: {problem}; using defaults", types.MessageType.Warning)
    ls.domain.invalidate()


async def did_change_configuration(
    ls: PunieLanguageServer, params: types.DidChangeConfigurationParams
) -> None:
    """Settings changed: re-read them (pushed or pulled), then re-check every open document."""
    pushed, problems = parse_settings(params.settings) if params.settings else (None, [])
    if _supports_configuration(ls):
        await _pull_configuration(ls)
    elif pushed is not None:
        for problem in problems:
            ls.log(f"Punie: ignoring invalid setting {problem}", types.MessageType.Warning)
        ls.settings = ls.settings.merged(pushed)
    _apply_domain_settings(ls)
    await revalidate_all(ls)


async def did_change_workspace_folders(
    ls: PunieLanguageServer, params: types.DidChangeWorkspaceFoldersParams
) -> None:
    """Folders were added or removed (pygls updates its list first); mirror to ty and re-check."""
    for folder in params.event.removed:
        path = to_fs_path(folder.uri)
        if path:
            ls.folder_settings.pop(Path(path), None)
            ls.domain.invalidate(Path(path))
    if ls.ty is not None:
        ls.ty.did_change_folders(params.event)
    if _supports_configuration(ls):
        await _pull_configuration(ls)
    _apply_domain_settings(ls)
    await revalidate_all(ls)


async def did_change_watched_files(
    ls: PunieLanguageServer, params: types.DidChangeWatchedFilesParams
) -> None:
    """Python files changed on disk: rebuild the index of the roots holding them, then re-check."""
    roots = set()
    for change in params.changes:
        if ls.open_document(change.uri) is not None and change.type == types.FileChangeType.Changed:
            continue  # an open buffer is authoritative; its save is not news
        if (where := ls.locate(change.uri)) is not None:
            roots.add(where[0])
    if not roots:
        return
    for root in roots:
        ls.domain.invalidate(root)
    await revalidate_all(ls)


async def shutdown(ls: PunieLanguageServer, params: None) -> None:
    """Stop ty and the domain thread."""
    del params
    for task in list(ls.pending.values()):
        task.cancel()
    if ls.ty is not None:
        await ls.ty.stop()
    ls.domain.shutdown()


def register(ls: PunieLanguageServer) -> None:
    """Register the lifecycle and workspace handlers."""
    ls.feature(types.INITIALIZE)(initialize)
    ls.feature(types.INITIALIZED)(initialized)
    ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)
    ls.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)(did_change_workspace_folders)
    ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)(did_change_watched_files)
    ls.feature(types.SHUTDOWN)(shutdown)
