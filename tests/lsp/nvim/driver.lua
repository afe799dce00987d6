-- Drives `punie lsp` from a real Neovim (0.7+), headless: open a file, wait for Punie's diagnostics,
-- apply the preferred quick fix to the buffer, then run "Fix with Punie" (the server's
-- workspace/applyEdit is applied by Neovim's own handler). Writes one line per step to PUNIE_RESULT
-- and exits 0 on success, 1 on failure.
--
-- Environment: PUNIE_CMD (the server command, tab-separated), PUNIE_FILE, PUNIE_ROOT, PUNIE_RESULT,
-- PUNIE_REPLAY (a replay model file for the agent step).

local out = {}
local function log(line)
  table.insert(out, line)
end

local function finish(code)
  vim.fn.writefile(out, os.getenv("PUNIE_RESULT"))
  if code == 0 then
    vim.cmd("qall!")
  else
    vim.cmd("cquit! " .. code)
  end
end

local function fail(message)
  log("FAIL " .. message)
  finish(1)
end

local function code_of(diagnostic)
  if diagnostic.code then
    return diagnostic.code
  end
  local lsp = diagnostic.user_data and diagnostic.user_data.lsp
  return lsp and lsp.code
end

-- The diagnostic in LSP shape (Neovim keeps only some LSP fields in `user_data.lsp`); columns are the
-- buffer's, which is exact on the ASCII lines this driver acts on.
local function lsp_diagnostic(diagnostic)
  return {
    range = {
      start = { line = diagnostic.lnum, character = diagnostic.col },
      ["end"] = { line = diagnostic.end_lnum, character = diagnostic.end_col },
    },
    message = diagnostic.message,
    source = diagnostic.source,
    code = code_of(diagnostic),
  }
end

local function sorted_diagnostics(buf)
  local found = vim.diagnostic.get(buf)
  table.sort(found, function(a, b)
    return a.lnum < b.lnum
  end)
  return found
end

local ok, err = pcall(function()
  local file = os.getenv("PUNIE_FILE")
  local root = os.getenv("PUNIE_ROOT")
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  local buf = vim.api.nvim_get_current_buf()
  local client_id = vim.lsp.start_client({
    name = "punie",
    cmd = vim.split(os.getenv("PUNIE_CMD"), "\t"),
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = "shop" } },
    init_options = { punie = { debounceMs = 50, model = "replay:" .. os.getenv("PUNIE_REPLAY") } },
  })
  if not client_id then
    return fail("could not start the server")
  end
  vim.lsp.buf_attach_client(buf, client_id)
  local client = vim.lsp.get_client_by_id(client_id)

  if not vim.wait(90000, function()
    return #vim.diagnostic.get(buf) >= 2
  end, 50) then
    return fail("no diagnostics")
  end
  local diagnostics = sorted_diagnostics(buf)
  log("neovim " .. tostring(vim.version().major) .. "." .. tostring(vim.version().minor))
  for _, d in ipairs(diagnostics) do
    log(string.format("diagnostic %s %s line %d", d.source, code_of(d), d.lnum + 1))
  end

  -- The preferred quick fix of the first diagnostic, resolved if it came without its edit.
  local first = lsp_diagnostic(diagnostics[1])
  local responses, request_error = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = first.range,
    context = { diagnostics = { first } },
  }, 30000)
  local chosen
  for _, response in pairs(responses or {}) do
    for _, action in ipairs(response.result or {}) do
      if action.isPreferred and action.kind == "quickfix" then
        chosen = action
      end
    end
  end
  if not chosen then
    return fail("no preferred quick fix: " .. vim.inspect({ responses, request_error }):gsub("\n", " "))
  end
  log("quick fix " .. chosen.title)
  if not chosen.edit then
    local resolved = client.request_sync("codeAction/resolve", chosen, 30000, buf)
    chosen = resolved and resolved.result or chosen
  end
  if not chosen.edit then
    return fail("the quick fix has no edit")
  end
  vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)
  log("fixed line " .. vim.api.nvim_buf_get_lines(buf, diagnostics[1].lnum, diagnostics[1].lnum + 1, false)[1])
  if not vim.wait(30000, function()
    return #vim.diagnostic.get(buf) == 1
  end, 50) then
    return fail("diagnostics did not follow the fix")
  end
  log("diagnostics after quick fix " .. #vim.diagnostic.get(buf))

  -- "Fix with Punie": the agent runs in the server; its edit comes back as workspace/applyEdit.
  local remaining = sorted_diagnostics(buf)[1]
  local args = {
    uri = vim.uri_from_bufnr(buf),
    range = lsp_diagnostic(remaining).range,
    rule = code_of(remaining),
    message = remaining.message,
  }
  local result = client.request_sync("workspace/executeCommand", {
    command = "punie.agent.fix",
    arguments = { args },
  }, 60000, buf)
  if not result or result.err then
    return fail("agent command failed: " .. vim.inspect(result))
  end
  log("agent applied " .. tostring(result.result.applied))
  log("agent line " .. vim.api.nvim_buf_get_lines(buf, remaining.lnum, remaining.lnum + 1, false)[1])
  if not vim.wait(30000, function()
    return #vim.diagnostic.get(buf) == 0
  end, 50) then
    return fail("diagnostics did not follow the agent's fix")
  end
  log("diagnostics after agent 0")
  vim.lsp.stop_client(client_id)
  finish(0)
end)

if not ok then
  fail(tostring(err))
end
