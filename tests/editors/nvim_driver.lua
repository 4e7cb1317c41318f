-- Drives a real headless Neovim through the greenloop plugin as a person would, for tests/editors/test_neovim.py:
-- open the demo's pricing module, save, wait for greenloop's diagnostic, :GreenloopRepair on its line, wait until
-- the fix is ready (status, code lens, inlay hint), then either review and accept it (:GreenloopAccept twice: the
-- first shows the diff) and save, or show it and discard it. Everything it saw goes to a JSON file; any failure
-- ends Neovim with exit code 1 and says why in that file.
--
-- Environment: GREENLOOP_E2E_PLUGIN (editors/neovim), GREENLOOP_E2E_ROOT (the demo copy), GREENLOOP_E2E_CMD and
-- GREENLOOP_E2E_SETTINGS (JSON), GREENLOOP_E2E_MODE ("accept" or "discard"), GREENLOOP_E2E_OUT (result file).

local env = vim.env
local out = { steps = {}, messages = {} }
local started = vim.uv.hrtime()

local function now()
  return (vim.uv.hrtime() - started) / 1e9
end

local function finish(code)
  local file = assert(io.open(env.GREENLOOP_E2E_OUT, "w"))
  file:write(vim.json.encode(out))
  file:close()
  vim.cmd((code == 0 and "qall!") or "cquit! " .. code)
end

local function step(name, value)
  table.insert(out.steps, { name = name, at = now(), value = value })
end

local function wait(what, seconds, predicate)
  local ok = vim.wait(seconds * 1000, predicate, 50)
  if not ok then
    out.error = "timed out after " .. seconds .. " s waiting for " .. what
    finish(1)
  end
end

local original_notify = vim.notify
vim.notify = function(message, level, opts)
  table.insert(out.messages, tostring(message))
  return original_notify(message, level, opts)
end

local ok, err = xpcall(function()
  vim.opt.rtp:prepend(env.GREENLOOP_E2E_PLUGIN)
  vim.cmd("filetype on")
  local greenloop = require("greenloop")
  greenloop.setup({ cmd = vim.json.decode(env.GREENLOOP_E2E_CMD), settings = vim.json.decode(env.GREENLOOP_E2E_SETTINGS) })
  local root = env.GREENLOOP_E2E_ROOT
  vim.cmd.cd(root)
  vim.cmd.edit(root .. "/shop/pricing.py")
  local buf = vim.api.nvim_get_current_buf()
  out.nvim = tostring(vim.version())
  wait("the greenloop client to attach", 30, function()
    return #vim.lsp.get_clients({ name = "greenloop", bufnr = buf }) > 0
  end)
  step("attached")

  local function ours()
    local found = {}
    for _, d in ipairs(vim.diagnostic.get(buf)) do
      if d.source == "greenloop" then
        table.insert(found, d)
      end
    end
    return found
  end
  local saved = now()
  vim.cmd.write()
  wait("greenloop's diagnostics on shop/pricing.py", 60, function() return #ours() > 0 end)
  out.save_to_diagnostic = now() - saved
  local diagnostic = ours()[1]
  step("diagnostic", { line = diagnostic.lnum, code = diagnostic.code, message = diagnostic.message })

  vim.api.nvim_win_set_cursor(0, { diagnostic.lnum + 1, 0 })
  local asked = now()
  vim.cmd("GreenloopRepair")
  wait("a repair to start", 30, function() return greenloop.status().state == "repairing" end)
  step("repairing", greenloop.status())
  wait("the fix to be ready", 120, function() return greenloop.status().state == "fix_ready" end)
  out.repair_to_fix_ready = now() - asked
  step("fix_ready", greenloop.status())
  out.statusline = greenloop.statusline()

  wait("the fix's code lens", 20, function()
    for _, lens in ipairs(vim.lsp.codelens.get(buf)) do
      if lens.command and lens.command.title:find("fix ready", 1, true) then
        out.lens_line = lens.range.start.line
        return true
      end
    end
    return false
  end)
  wait("the fix's inlay hint", 20, function()
    for _, item in ipairs(vim.lsp.inlay_hint.get({ bufnr = buf })) do
      local label = item.inlay_hint.label
      if type(label) == "string" and label:find("greenloop", 1, true) then
        out.hint = { line = item.inlay_hint.position.line, label = label }
        return true
      end
    end
    return false
  end)
  step("previewed")

  local function float_lines()
    for _, win in ipairs(vim.api.nvim_list_wins()) do
      if vim.api.nvim_win_get_config(win).relative ~= "" then
        return vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false)
      end
    end
    return nil
  end
  local before = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")

  if env.GREENLOOP_E2E_MODE == "accept" then
    vim.cmd("GreenloopAccept") -- not seen yet: the diff opens instead
    wait("the patch window", 20, function() return float_lines() ~= nil end)
    out.patch = float_lines()
    out.unchanged_after_first_accept = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") == before
    vim.cmd("GreenloopAccept")
    wait("the buffer to hold the fix", 30, function()
      return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") ~= before
    end)
    step("applied")
    vim.api.nvim_set_current_buf(buf)
    vim.cmd.write()
    wait("a status with no failing test", 60, function()
      local s = greenloop.status()
      return s.failing == 0 and not s.checking and s.state == "idle"
    end)
    step("green", greenloop.status())
  else
    vim.cmd("GreenloopPatch")
    wait("the patch window", 20, function() return float_lines() ~= nil end)
    out.patch = float_lines()
    vim.cmd("GreenloopDiscard")
    wait("the fix to be gone", 20, function() return greenloop.status().fix == nil end)
    vim.wait(500)
    out.unchanged = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") == before
    out.modified = vim.bo[buf].modified
    step("discarded", greenloop.status())
  end
end, debug.traceback)

if not ok then
  out.error = tostring(err)
  finish(1)
else
  finish(0)
end
