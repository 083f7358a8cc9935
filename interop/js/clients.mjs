// The current JavaScript SDKs against keyhold (run by interop/test_js_clients.py with the
// server's bootstrap.json in BOOT and its CA in NODE_EXTRA_CA_CERTS): @azure/arm-keyvault
// (api-version 2026-02-01), @azure/arm-cognitiveservices (beginUpdateAndWait must end with the
// account, not the operation status) and the openai client's files.create (which sends `file`
// before `purpose`). Prints one JSON line of what each returned; any failure exits non-zero.
import fs from 'node:fs';
import { ClientSecretCredential } from '@azure/identity';
import { CognitiveServicesManagementClient } from '@azure/arm-cognitiveservices';
import { KeyVaultManagementClient } from '@azure/arm-keyvault';
import { AzureOpenAI, toFile } from 'openai';

const boot = JSON.parse(fs.readFileSync(process.env.BOOT, 'utf8'));
const cred = new ClientSecretCredential(boot.tenantId, boot.clientId, boot.clientSecret, {
  authorityHost: boot.authority,
  disableInstanceDiscovery: true,
});
// Older generated clients read `credentialScopes`, the TypeSpec-generated ones `credentials`.
const options = {
  endpoint: boot.managementEndpoint,
  credentialScopes: [boot.managementScope],
  credentials: { scopes: [boot.managementScope] },
};
const poll = { updateIntervalInMs: 200 };
const kv = new KeyVaultManagementClient(cred, boot.subscriptionId, options);
const cs = new CognitiveServicesManagementClient(cred, boot.subscriptionId, options);
const rg = 'rg-js';
const token = await cred.getToken(boot.managementScope);
const group = await fetch(
  `${boot.managementEndpoint}subscriptions/${boot.subscriptionId}/resourcegroups/${rg}?api-version=2024-11-01`,
  {
    method: 'PUT',
    headers: { authorization: `Bearer ${token.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ location: 'westeurope' }),
  },
);
if (!group.ok) throw new Error(`resource group: ${group.status} ${await group.text()}`);

const vault = await kv.vaults.beginCreateOrUpdateAndWait(rg, 'kv-js', {
  location: 'westeurope',
  properties: { tenantId: boot.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [] },
}, poll);
const vaults = [];
for await (const v of kv.vaults.listBySubscription()) vaults.push(v.name);

await cs.accounts.beginCreateAndWait(rg, 'ai-js', {
  location: 'westeurope', kind: 'OpenAI', sku: { name: 'S0' },
  identity: { type: 'SystemAssigned' }, properties: {},
}, poll);
const updated = await cs.accounts.beginUpdateAndWait(rg, 'ai-js', { tags: { step: 'js' } }, poll);

const keys = await cs.accounts.listKeys(rg, 'ai-js');
const ai = new AzureOpenAI({
  endpoint: `https://ai-js.openai.localhost:${boot.port}`, apiKey: keys.key1, apiVersion: '2024-10-21',
});
const line = '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}\n';
const file = await ai.files.create({ file: await toFile(Buffer.from(line), 'train.jsonl'), purpose: 'fine-tune' });
const content = await (await ai.files.content(file.id)).text();

console.log(JSON.stringify({
  vault: { name: vault.name, vaultUri: vault.properties.vaultUri },
  vaults,
  updated: { name: updated.name, kind: updated.kind, tags: updated.tags, status: updated.status ?? null },
  file: { id: file.id, status: file.status, purpose: file.purpose, roundTrip: content === line },
}));
