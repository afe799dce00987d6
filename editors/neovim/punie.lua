-- Punie's language server for Neovim: domain diagnostics, hover, quick fixes and agent actions.
-- Neovim 0.11+ uses vim.lsp.config / vim.lsp.enable; 0.7-0.10 start one client per project root.
-- Put this file in ~/.config/nvim/plugin/punie.lua (or source it from init.lua).
local punie = {
  name = "punie",
  cmd = { "punie", "lsp" },
  filetypes = { "python" },
  root_markers = { "pyproject.toml", ".punie", ".git" },
  -- Options Punie reads at start-up; the same keys work under `settings.punie`.
  init_options = { punie = { debounceMs = 150 } },
  settings = { punie = {} },
}

if vim.lsp.config and vim.lsp.enable then
  vim.lsp.config("punie", punie)
  vim.lsp.enable("punie")
  return
end

local clients = {}

local function project_root(path)
  local dir = vim.fn.fnamemodify(path, ":p:h")
  for _, marker in ipairs(punie.root_markers) do
    local found = vim.fn.finddir(marker, dir .. ";")
    if found == "" then
      found = vim.fn.findfile(marker, dir .. ";")
    end
    if found ~= "" then
      return vim.fn.fnamemodify(found, ":p:h:h")
    end
  end
  return vim.fn.getcwd()
end

vim.api.nvim_create_autocmd("FileType", {
  pattern = punie.filetypes,
  callback = function(args)
    local root = project_root(vim.api.nvim_buf_get_name(args.buf))
    if not clients[root] then
      clients[root] = vim.lsp.start_client({
        name = punie.name,
        cmd = punie.cmd,
        root_dir = root,
        workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
        init_options = punie.init_options,
        settings = punie.settings,
      })
    end
    if clients[root] then
      vim.lsp.buf_attach_client(args.buf, clients[root])
    end
  end,
})
