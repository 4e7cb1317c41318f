/**
 * The language client: starts `<python> -m greenloop serve`, keeps its settings in step with VS Code's, and asks
 * the server's `greenloop.*` commands.
 *
 * vscode-languageclient registers VS Code commands under the ids the server lists (greenloop.repair,
 * greenloop.showPatch...), which is how code lenses and code actions run them; the extension's own commands use
 * other ids (greenloop.client.*) and send `workspace/executeCommand` themselves (see `execute`).
 */

import * as vscode from 'vscode';
import {
    ExecuteCommandRequest,
    LanguageClient,
    LanguageClientOptions,
    ServerOptions,
    State,
    TransportKind,
} from 'vscode-languageclient/node';

import { checkGreenloop, findInterpreter, Interpreter } from './python';
import { removedKeys, SECTION, serverSettings, ServerSettings } from './settings';
import { NOTIFICATION, Status, StatusItem } from './status';

/** Files the server checks on save: Python, and the files that hold pytest's configuration. */
const DOCUMENTS = [
    { scheme: 'file', language: 'python' },
    { scheme: 'file', pattern: '**/{pyproject.toml,setup.cfg,pytest.ini,tox.ini}' },
];

export interface Hooks {
    /** `greenloop.showPatch` from a code lens or code action: the extension shows the diff itself. */
    showPatch(repairId: number | null | undefined): Promise<void>;
    /** Every `greenloop/status` the server sends, after the status bar shows it. */
    statusChanged(status: Status): void;
}

export class GreenloopClient implements vscode.Disposable {
    private client: LanguageClient | undefined;
    private interpreter: Interpreter | undefined;
    private sent: ServerSettings = {};
    private queue: Promise<unknown> = Promise.resolve();

    constructor(
        private readonly output: vscode.OutputChannel,
        private readonly status: StatusItem,
        private readonly hooks: Hooks,
    ) {}

    get running(): boolean {
        return this.client?.state === State.Running;
    }

    /** One start or stop at a time, in the order asked. */
    private serial<T>(step: () => Promise<T>): Promise<T> {
        const next = this.queue.then(step, step);
        this.queue = next.catch(() => undefined);
        return next;
    }

    start(): Promise<void> {
        return this.serial(() => this.doStart());
    }

    stop(): Promise<void> {
        return this.serial(() => this.doStop());
    }

    restart(): Promise<void> {
        return this.serial(async () => {
            await this.doStop();
            await this.doStart();
        });
    }

    /** Settings changed: a new interpreter or a removed setting needs a new server; anything else, a notice. */
    async configurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
        if (!event.affectsConfiguration(SECTION) || event.affectsConfiguration(`${SECTION}.trace`)) {
            return;
        }
        const folder = vscode.workspace.workspaceFolders?.[0];
        const interpreter = await findInterpreter(folder);
        const now = serverSettings(this.pythonToSend(interpreter), folder);
        if (!this.client || interpreter.command !== this.interpreter?.command || removedKeys(this.sent, now).length) {
            this.output.appendLine(`greenloop: settings changed, restarting (${interpreter.command} from ${interpreter.source})`);
            await this.restart();
        }
        // Otherwise vscode-languageclient sends workspace/didChangeConfiguration (synchronize.configurationSection,
        // with `settings: null` from the middleware below) and the server asks workspace/configuration again.
    }

    /** The interpreter goes to the server as its `python` setting unless it is only the fallback `python3`: the
     * server then finds the project's own environment (.venv, VIRTUAL_ENV) itself. */
    private pythonToSend(interpreter: Interpreter): string | undefined {
        return interpreter.source === 'the default' ? undefined : interpreter.command;
    }

    private async doStart(): Promise<void> {
        this.status.starting();
        const folder = vscode.workspace.workspaceFolders?.[0];
        const interpreter = await findInterpreter(folder);
        this.interpreter = interpreter;
        const cwd = folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined;
        this.output.appendLine(`greenloop: starting ${interpreter.command} -m greenloop serve (from ${interpreter.source})`);
        const check = await checkGreenloop(interpreter.command, cwd);
        if (!check.ok) {
            this.output.appendLine(check.detail);
            this.status.failed('greenloop is not running.');
            void missingGreenloop(interpreter, check.missingPython, () => this.restart());
            return;
        }
        const python = this.pythonToSend(interpreter);
        this.sent = serverSettings(python, folder);
        const serverOptions: ServerOptions = {
            command: interpreter.command,
            args: ['-m', 'greenloop', 'serve'],
            transport: TransportKind.stdio,
            options: { cwd },
        };
        const clientOptions: LanguageClientOptions = {
            documentSelector: DOCUMENTS,
            outputChannel: this.output,
            initializationOptions: this.sent,
            synchronize: { configurationSection: SECTION },
            middleware: {
                workspace: {
                    // The server asks for the `greenloop` section: answer in its names (snake_case).
                    configuration: async (params, token, next) => {
                        const answers = await next(params, token);
                        if (!Array.isArray(answers)) {
                            return answers;
                        }
                        return params.items.map((item, i) => {
                            if (item.section !== SECTION) {
                                return answers[i];
                            }
                            const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : folder;
                            return serverSettings(python, scope);
                        });
                    },
                    // Tell the server that something changed and let it ask (the line above translates).
                    didChangeConfiguration: (_sections, next) => next(undefined),
                },
                executeCommand: async (command, args, next) => {
                    if (command === 'greenloop.showPatch') {
                        const argument = (args[0] ?? {}) as { repair_id?: number | null };
                        return this.hooks.showPatch(argument.repair_id);
                    }
                    return next(command, args);
                },
            },
        };
        const client = new LanguageClient('greenloop', 'greenloop', serverOptions, clientOptions);
        this.client = client;
        client.onDidChangeState((change) => {
            if (change.newState === State.Stopped && this.client === client) {
                this.status.failed('The greenloop server stopped.');
            }
        });
        try {
            await client.start();
        } catch (error) {
            this.status.failed('The greenloop server did not start.');
            const choice = await vscode.window.showErrorMessage(
                `greenloop: the server did not start (${interpreter.command} -m greenloop serve): ${String(error)}`,
                'Show Log');
            if (choice === 'Show Log') {
                this.output.show(true);
            }
            return;
        }
        client.onNotification(NOTIFICATION, (status: Status) => {
            this.status.update(status);
            this.hooks.statusChanged(status);
        });
        const now = await this.execute<Status>('greenloop.status', {});
        if (now && this.status.last === undefined) {
            this.status.update(now);
            this.hooks.statusChanged(now);
        }
    }

    private async doStop(): Promise<void> {
        const client = this.client;
        this.client = undefined;
        if (client === undefined) {
            return;
        }
        try {
            if (client.state !== State.Stopped) {
                await client.stop(10_000);
            }
        } catch (error) {
            this.output.appendLine(`greenloop: stopping the server: ${String(error)}`);
        }
    }

    /** Sends the server's command `command` with its one object argument; undefined when there is no server. */
    async execute<T>(command: string, argument: object): Promise<T | undefined> {
        const client = this.client;
        if (client === undefined || client.state !== State.Running) {
            const choice = await vscode.window.showWarningMessage('greenloop: the server is not running.', 'Show Log');
            if (choice === 'Show Log') {
                this.output.show(true);
            }
            return undefined;
        }
        return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] })) as T;
    }

    dispose(): void {
        void this.stop();
    }
}

/** greenloop is not importable from the interpreter: say so, offer to install it or to pick another. */
async function missingGreenloop(interpreter: Interpreter, missingPython: boolean, restart: () => Promise<void>):
    Promise<void> {
    const install = 'Install greenloop';
    const setting = 'Open Setting';
    const message = missingPython
        ? `greenloop: cannot run the Python interpreter "${interpreter.command}" (from ${interpreter.source}). ` +
          'Set greenloop.python to a Python that has greenloop installed.'
        : `greenloop is not installed in ${interpreter.command} (from ${interpreter.source}): the language server ` +
          'cannot start. Install it there, or set greenloop.python to a Python that has it.';
    const choice = missingPython
        ? await vscode.window.showErrorMessage(message, setting)
        : await vscode.window.showErrorMessage(message, install, setting);
    if (choice === setting) {
        await vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.python`);
    } else if (choice === install) {
        // In a terminal the person watches (pip may ask, or fail for a reason worth reading); then start again.
        const task = new vscode.Task({ type: 'greenloop' }, vscode.TaskScope.Workspace, 'install greenloop', 'greenloop',
            new vscode.ProcessExecution(interpreter.command, ['-m', 'pip', 'install', 'greenloop']));
        task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated };
        const execution = await vscode.tasks.executeTask(task);
        const done = vscode.tasks.onDidEndTaskProcess((ended) => {
            if (ended.execution === execution) {
                done.dispose();
                if (ended.exitCode === 0) {
                    void restart();
                }
            }
        });
    }
}
