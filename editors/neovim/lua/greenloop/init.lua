-- greenloop for Neovim 0.10+: starts `greenloop serve` for Python buffers, shows what it is doing, and lets the
-- person review a fix before it touches the buffer.
--
--   require("greenloop").setup({ cmd = { "greenloop", "serve" }, settings = { model = "...", max_rounds = 3 } })
--
-- Commands: :GreenloopRepair (the current buffer; the failure under the cursor if there is one), :GreenloopCancel,
-- :GreenloopPatch (the fix's diff in a floating window), :GreenloopAccept, :GreenloopDiscard.
-- require("greenloop").status() returns { state = "idle"|"checking"|"repairing"|"fix_ready", failing = N, ... }
-- for statuslines. See docs/editors.md.

local M = {}

local NAME = "greenloop"
local ROOT_MARKERS = { "pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini", ".git" }

local defaults = {
  cmd = { "greenloop", "serve" },
  filetypes = { "python" },
  root_markers = ROOT_MARKERS,
  -- Server settings, as in [tool.greenloop] (docs/configuration): python, model, api_base, max_rounds,
  -- budget_usd, type_checker, on_save, test_timeout, sandbox...
  settings = {},
  codelens = true, -- show "greenloop: fixing, round 2/3" and "fix ready · Preview · Apply · Discard" lenses
  inlay_hints = true, -- show the fix's replacement lines at the end of the lines they replace
  notify = true, -- say when a fix is ready
}

M.config = vim.deepcopy(defaults)

-- What the server last said (greenloop/status), plus the latest progress message and whether the person has seen
-- the waiting fix's diff (a fix is applied only after that).
local state = {
  status = { state = "idle", failing = 0, checking = false, repair = vim.NIL, fix = vim.NIL },
  progress = nil,
  seen = nil, -- repair_id (or true) of the fix whose diff was shown
  float = nil, -- { win, buf } of the patch window
}

local function has(version)
  return vim.fn.has("nvim-" .. version) == 1
end

local function nil_if_null(value)
  if value == vim.NIL then
    return nil
  end
  return value
end

local function say(message, level)
  vim.notify("greenloop: " .. message, level or vim.log.levels.INFO)
end

--- The greenloop client serving `bufnr` (or any greenloop client), or nil.
local function client_for(bufnr)
  local clients = vim.lsp.get_clients({ name = NAME, bufnr = bufnr })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = NAME })
  end
  return clients[1]
end

local function request(client, method, params, handler, bufnr)
  if has("0.11") then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

--- Run a server command with one argument object; `done(err, result)` gets the answer.
local function execute(command, argument, done, bufnr)
  local client = client_for(bufnr or vim.api.nvim_get_current_buf())
  if not client then
    say("the server is not running for this buffer (:checkhealth greenloop)", vim.log.levels.WARN)
    return false
  end
  request(client, "workspace/executeCommand", { command = command, arguments = { argument or vim.empty_dict() } },
    function(err, result)
      if done then
        done(err, result)
      elseif err then
        say(command .. " failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      end
    end, bufnr)
  return true
end

-- -- status -------------------------------------------------------------------------------------------------

--- For statuslines: { state, failing, checking, round, max_rounds, fix = { summary, lines, ... } | nil, progress }.
function M.status()
  local s = state.status
  local repair, fix = nil_if_null(s.repair), nil_if_null(s.fix)
  return {
    state = s.state or "idle",
    failing = s.failing or 0,
    checking = s.checking == true,
    round = repair and repair.round or nil,
    max_rounds = repair and repair.max_rounds or nil,
    fix = fix,
    progress = state.progress,
  }
end

--- A short text for a statusline: "greenloop: 2 failing", "greenloop: round 1/3", "greenloop: fix ready".
function M.statusline()
  local s = M.status()
  if s.state == "repairing" then
    return string.format("greenloop: repairing round %d/%d", s.round or 0, s.max_rounds or 0)
  elseif s.state == "fix_ready" then
    return "greenloop: " .. (s.fix and s.fix.summary or "fix ready")
  elseif s.state == "checking" then
    return "greenloop: checking"
  elseif s.failing > 0 then
    return string.format("greenloop: %d failing", s.failing)
  end
  return "greenloop: ok"
end

local function refresh_views()
  for _, client in ipairs(vim.lsp.get_clients({ name = NAME })) do
    for bufnr in pairs(client.attached_buffers or {}) do
      if vim.api.nvim_buf_is_loaded(bufnr) then
        if M.config.codelens then
          if vim.lsp.codelens.enable then
            pcall(vim.lsp.codelens.enable, true, { bufnr = bufnr })
          else
            pcall(vim.lsp.codelens.refresh, { bufnr = bufnr })
          end
        end
        if M.config.inlay_hints and vim.lsp.inlay_hint then
          pcall(vim.lsp.inlay_hint.enable, true, { bufnr = bufnr })
        end
      end
    end
  end
end

local function on_status(_, result)
  if type(result) ~= "table" then
    return
  end
  local before = state.status
  state.status = result
  local fix, old_fix = nil_if_null(result.fix), nil_if_null(before.fix)
  if not fix or (old_fix and fix.repair_id ~= old_fix.repair_id) then
    state.seen = nil
  end
  if fix and (not old_fix or old_fix.repair_id ~= fix.repair_id) and M.config.notify then
    say(fix.summary .. ": :GreenloopPatch to review it, then :GreenloopAccept or :GreenloopDiscard")
  end
  if result.state ~= before.state or fix ~= old_fix then
    vim.schedule(refresh_views)
  end
  vim.api.nvim_exec_autocmds("User", { pattern = "GreenloopStatus", modeline = false })
end

-- -- the patch window -------------------------------------------------------------------------------------

local function close_float()
  if state.float and vim.api.nvim_win_is_valid(state.float.win) then
    vim.api.nvim_win_close(state.float.win, true)
  end
  state.float = nil
end

--- The fix's diff in a floating window; `a` applies it, `d` discards it, `q` closes the window.
local function show_patch(answer)
  if not answer or answer.patch == nil or answer.patch == vim.NIL then
    say("no fix is waiting", vim.log.levels.WARN)
    return
  end
  close_float()
  local lines = vim.split(answer.patch, "\n", { trimempty = true })
  table.insert(lines, 1, string.format("greenloop fix (%s, %d line%s, passes %d of %d tests)   a: apply  d: discard  q: close",
    answer.status or "?", answer.lines or 0, (answer.lines or 0) == 1 and "" or "s", answer.passing or 0,
    answer.tests or 0))
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].filetype = "diff"
  vim.bo[buf].modifiable = false
  vim.bo[buf].bufhidden = "wipe"
  local width = 20
  for _, line in ipairs(lines) do
    width = math.max(width, vim.fn.strdisplaywidth(line))
  end
  width = math.min(width + 2, math.max(vim.o.columns - 4, 20))
  local height = math.min(#lines, math.max(vim.o.lines - 6, 3))
  local win = vim.api.nvim_open_win(buf, true, {
    relative = "editor", width = width, height = height, style = "minimal", border = "rounded",
    row = math.max(math.floor((vim.o.lines - height) / 2) - 1, 0), col = math.floor((vim.o.columns - width) / 2),
    title = " greenloop ", title_pos = "center",
  })
  state.float = { win = win, buf = buf, repair_id = answer.repair_id }
  state.seen = answer.repair_id == vim.NIL and true or answer.repair_id
  local function map(key, fn)
    vim.keymap.set("n", key, fn, { buffer = buf, nowait = true, silent = true })
  end
  map("q", close_float)
  map("<Esc>", close_float)
  map("a", function() M.accept() end)
  map("d", function() M.discard() end)
end

-- -- the commands -------------------------------------------------------------------------------------------

--- The failure diagnostics of greenloop on the cursor's line, if any.
local function failures_here(bufnr)
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr, { lnum = line })) do
    if d.source == NAME then
      table.insert(found, d)
    end
  end
  return found, line
end

--- Repair the current buffer's failures (those on the cursor's line only, when there are some).
function M.repair()
  local bufnr = vim.api.nvim_get_current_buf()
  local here, line = failures_here(bufnr)
  local tests = {}
  for _, d in ipairs(here) do
    if type(d.code) == "string" and d.code:find("::", 1, true) then
      table.insert(tests, d.code)
    end
  end
  local argument = { uri = vim.uri_from_bufnr(bufnr), tests = #tests > 0 and tests or vim.NIL,
    line = #here > 0 and line or vim.NIL }
  execute("greenloop.repair", argument, function(err, result)
    if err then
      say("repair failed to start: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    elseif result and result.started == false then
      say(result.reason or "the repair did not start", vim.log.levels.WARN)
    end
  end, bufnr)
end

function M.cancel()
  execute("greenloop.cancel", {}, function(err, result)
    if not err and result and not result.cancelled then
      say("no repair is running")
    end
  end)
end

local function fix_id()
  local fix = nil_if_null(state.status.fix)
  return fix and fix.repair_id or vim.NIL
end

--- Show the waiting fix's diff (a floating window).
function M.patch()
  execute("greenloop.showPatch", { repair_id = fix_id(), open = false }, function(err, result)
    if err then
      say("showPatch failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    vim.schedule(function() show_patch(result) end)
  end)
end

--- The person's decision on the waiting fix, sent to the server; `done` names the answer's success field, and
--- the answer is said with `ok` or with `refused` before the server's reason.
local function decide(command, id, done, ok, refused)
  execute(command, { repair_id = id }, function(err, result)
    vim.schedule(function()
      if err then
        say(command .. " failed: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      elseif result and result[done] then
        say(ok)
      else
        say(refused .. tostring(result and result.reason), vim.log.levels.WARN)
      end
    end)
  end)
end

--- Apply the waiting fix once its diff has been shown; otherwise show the diff first.
function M.accept()
  local id = fix_id()
  if state.seen == nil or (state.seen ~= true and state.seen ~= id) then -- this fix's diff was not shown yet
    say("review the fix first: its diff is open; press a (or :GreenloopAccept) to apply it")
    M.patch()
    return
  end
  close_float()
  decide("greenloop.applyFix", id, "applied", "fix applied; review and :write the buffer", "fix not applied: ")
end

--- Drop the waiting fix (the ledger records it as declined); the buffer is left as it is.
function M.discard()
  close_float()
  decide("greenloop.discardFix", fix_id(), "discarded", "fix discarded", "")
end

local function create_commands()
  local commands = {
    GreenloopRepair = { M.repair, "greenloop: repair the failing tests of this buffer (or of the cursor's line)" },
    GreenloopCancel = { M.cancel, "greenloop: cancel the running repair" },
    GreenloopPatch = { M.patch, "greenloop: show the waiting fix as a diff" },
    GreenloopAccept = { M.accept, "greenloop: apply the waiting fix (after its diff was shown)" },
    GreenloopDiscard = { M.discard, "greenloop: discard the waiting fix" },
  }
  for name, spec in pairs(commands) do
    vim.api.nvim_create_user_command(name, function() spec[1]() end, { desc = spec[2] })
  end
end

-- -- the language server ------------------------------------------------------------------------------------

local function on_progress(args)
  local data = args.data or {}
  local client = data.client_id and vim.lsp.get_client_by_id(data.client_id)
  if not client or client.name ~= NAME then
    return
  end
  local value = data.params and data.params.value or {}
  if value.kind == "end" then
    state.progress = nil
  else
    state.progress = value.message or value.title
  end
  vim.api.nvim_exec_autocmds("User", { pattern = "GreenloopStatus", modeline = false })
end

--- The client configuration (for vim.lsp.config / vim.lsp.start).
function M.client_config()
  local config = M.config
  return {
    name = NAME,
    cmd = config.cmd,
    filetypes = config.filetypes,
    root_markers = config.root_markers,
    settings = { greenloop = config.settings },
    init_options = { greenloop = config.settings },
    handlers = { ["greenloop/status"] = on_status },
    -- Run by code lenses and code actions: the diff is shown here, and a fix is applied only after it was seen.
    commands = {
      ["greenloop.showPatch"] = function() M.patch() end,
      ["greenloop.applyFix"] = function() M.accept() end,
      ["greenloop.discardFix"] = function() M.discard() end,
    },
    on_attach = function(client, bufnr)
      vim.schedule(refresh_views)
      request(client, "workspace/executeCommand", { command = "greenloop.status", arguments = { vim.empty_dict() } },
        function(err, result)
          if not err then
            on_status(nil, result)
          end
        end, bufnr)
    end,
  }
end

local group

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  if not has("0.10") then
    say("Neovim 0.10 or newer is needed", vim.log.levels.ERROR)
    return
  end
  group = vim.api.nvim_create_augroup("greenloop", { clear = true })
  create_commands()
  vim.api.nvim_create_autocmd("LspProgress", { group = group, callback = on_progress })
  local config = M.client_config()
  if has("0.11") and vim.lsp.config and vim.lsp.enable then
    vim.lsp.config(NAME, config)
    vim.lsp.enable(NAME)
  else
    vim.api.nvim_create_autocmd("FileType", {
      group = group,
      pattern = config.filetypes,
      callback = function(args)
        local root = vim.fs.root(args.buf, config.root_markers)
        local start = vim.tbl_extend("force", config, { root_dir = root or vim.fs.dirname(vim.api.nvim_buf_get_name(args.buf)) })
        start.root_markers = nil
        start.filetypes = nil
        vim.lsp.start(start, { bufnr = args.buf })
      end,
    })
  end
end

return M
