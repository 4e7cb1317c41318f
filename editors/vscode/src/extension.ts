/**
 * greenloop for VS Code: the language client (client.ts), the status bar item (status.ts), the patch view
 * (patch.ts) and the extension's commands. A fix is applied only when the person asks (the Apply lens, the
 * "Apply greenloop fix" code action or "greenloop: Accept Fix"), and then through VS Code's Refactor Preview:
 * the server's edit is annotated as needing confirmation, and nothing here accepts it on the person's behalf.
 */

import * as vscode from 'vscode';

import { GreenloopClient } from './client';
import { closeOtherPatches, PatchAnswer, PatchDocuments, SCHEME, showPatch } from './patch';
import { onInterpreterChange } from './python';
import { pythonSetting } from './settings';
import { StatusItem } from './status';

let client: GreenloopClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    const output = vscode.window.createOutputChannel('greenloop');
    const status = new StatusItem();
    const documents = new PatchDocuments();
    context.subscriptions.push(output, status, documents,
        vscode.workspace.registerTextDocumentContentProvider(SCHEME, documents));

    const show = async (repairId?: number | null): Promise<void> => {
        const argument = repairId === undefined || repairId === null ? { open: false } : { repair_id: repairId, open: false };
        const answer = await greenloop.execute<PatchAnswer>('greenloop.showPatch', argument);
        if (answer === undefined) {
            return;
        }
        if (!answer.patch) {
            void vscode.window.showInformationMessage('greenloop: no fix is waiting.');
            return;
        }
        const fix = status.last?.fix;
        await showPatch(documents, answer, fix?.uri ?? undefined, fix?.summary);
    };

    let shownFix: number | null | undefined;
    const statusChanged = (now: { fix: { repair_id: number | null } | null }): void => {
        const fix = now.fix === null ? null : now.fix.repair_id;
        if (fix !== shownFix) {
            shownFix = fix;
            void closeOtherPatches(fix);
        }
    };
    const greenloop = new GreenloopClient(output, status, { showPatch: show, statusChanged });
    client = greenloop;
    context.subscriptions.push(greenloop);

    const command = (id: string, run: () => Promise<unknown>) =>
        context.subscriptions.push(vscode.commands.registerCommand(id, async () => {
            try {
                await run();
            } catch (error) {
                void vscode.window.showErrorMessage(`greenloop: ${String(error)}`);
            }
        }));

    command('greenloop.client.repairFile', async () => {
        const editor = vscode.window.activeTextEditor;
        if (editor === undefined || editor.document.uri.scheme !== 'file') {
            void vscode.window.showInformationMessage('greenloop: open a Python file of the project to repair it.');
            return;
        }
        const answer = await greenloop.execute<{ started?: boolean; reason?: string }>('greenloop.repair', {
            uri: editor.document.uri.toString(), tests: null, line: editor.selection.active.line });
        if (answer && answer.started === false && answer.reason) {
            void vscode.window.showWarningMessage(`greenloop: ${answer.reason}`);
        }
    });
    command('greenloop.client.cancel', async () => {
        const answer = await greenloop.execute<{ cancelled?: boolean }>('greenloop.cancel', {});
        if (answer && !answer.cancelled) {
            void vscode.window.showInformationMessage('greenloop: no repair is running.');
        }
    });
    command('greenloop.client.showPatch', () => show(status.last?.fix?.repair_id));
    command('greenloop.client.applyFix', async () => {
        // The server sends the edit as needing confirmation: VS Code shows it in the Refactor Preview first.
        const fix = status.last?.fix;
        const answer = await greenloop.execute<{ applied?: boolean; reason?: string }>('greenloop.applyFix',
            fix?.repair_id !== undefined && fix?.repair_id !== null ? { repair_id: fix.repair_id } : {});
        if (answer && !answer.applied && !fix) {
            void vscode.window.showInformationMessage(`greenloop: ${answer.reason ?? 'no fix is waiting'}.`);
        }
    });
    command('greenloop.client.discardFix', async () => {
        const fix = status.last?.fix;
        const answer = await greenloop.execute<{ discarded?: boolean; reason?: string }>('greenloop.discardFix',
            fix?.repair_id !== undefined && fix?.repair_id !== null ? { repair_id: fix.repair_id } : {});
        if (answer && !answer.discarded) {
            void vscode.window.showInformationMessage(`greenloop: ${answer.reason ?? 'no fix is waiting'}.`);
        }
    });
    command('greenloop.client.showLog', async () => output.show(true));
    command('greenloop.client.restart', () => greenloop.restart());

    context.subscriptions.push(vscode.workspace.onDidChangeConfiguration((event) => {
        void greenloop.configurationChanged(event);
    }));
    const interpreterChanged = await onInterpreterChange(() => {
        if (!pythonSetting(vscode.workspace.workspaceFolders?.[0])) {
            void greenloop.restart();
        }
    });
    if (interpreterChanged) {
        context.subscriptions.push(interpreterChanged);
    }
    await greenloop.start();
}

export async function deactivate(): Promise<void> {
    await client?.stop();
    client = undefined;
}
