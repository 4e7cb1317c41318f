-- :checkhealth greenloop: is Neovim new enough, can the server start, is it attached to this buffer.

local M = {}

function M.check()
  local health = vim.health
  health.start("greenloop")
  local version = vim.version()
  if vim.fn.has("nvim-0.10") == 1 then
    health.ok(string.format("Neovim %d.%d.%d", version.major, version.minor, version.patch))
  else
    health.error("Neovim 0.10 or newer is needed", { "upgrade Neovim" })
    return
  end
  local greenloop = require("greenloop")
  local cmd = greenloop.config.cmd or {}
  local program = cmd[1]
  if not program or vim.fn.executable(program) ~= 1 then
    health.error(string.format("the server command %s is not executable", vim.inspect(cmd)), {
      "install greenloop into your project's interpreter: python -m pip install greenloop",
      'or point setup() at it: require("greenloop").setup({ cmd = { "/path/to/python", "-m", "greenloop", "serve" } })',
    })
  else
    local args = vim.list_extend({ program }, vim.list_slice(cmd, 2, #cmd - 1))
    table.insert(args, "--version")
    local done = vim.system(args, { text = true }):wait(20000)
    if done.code == 0 then
      health.ok(string.format("%s: %s", table.concat(args, " "), vim.trim(done.stdout or "")))
    else
      health.error(string.format("%s failed (exit %s): %s", table.concat(args, " "), tostring(done.code),
        vim.trim((done.stderr or "") .. (done.stdout or ""))))
    end
  end
  local clients = vim.lsp.get_clients({ name = "greenloop" })
  if #clients == 0 then
    health.info("no greenloop client is running (it starts on a Python buffer inside a project)")
  else
    for _, client in ipairs(clients) do
      health.ok(string.format("client %d running for %s", client.id, client.root_dir or "?"))
    end
  end
  local status = greenloop.status()
  health.info(string.format("status: %s, %d failing", status.state, status.failing))
end

return M
