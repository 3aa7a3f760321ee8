// Generates testdata/vectors.json from the providers' own libraries. Not run by the tests:
//   mkdir /tmp/v && cd /tmp/v && npm init -y && npm install @contentful/node-apps-toolkit @sanity/webhook stripe
//   cp .../mesh/webhook/testdata/gen-vectors.mjs . && node gen-vectors.mjs > .../mesh/webhook/testdata/vectors.json
import { signRequest, verifyRequest } from '@contentful/node-apps-toolkit'
import { encodeSignatureHeader, isValidSignature } from '@sanity/webhook'
import Stripe from 'stripe'
import crypto from 'crypto'
import fs from 'fs'

const out = {}

// Contentful
const cfSecret = 'Qm9vdHN0cmFwLXNpZ25pbmctc2VjcmV0LWZvci10ZXN0cy0wMTIzNDU2Nzg5YWJj'.slice(0, 64)
const cfBody = JSON.stringify({sys: {type: 'Entry', id: 'post-1', space: {sys: {id: 'space1'}}, revision: 7}, fields: {title: {'en-US': 'Héllo'}}})
const cfHeaders = {
  'Content-Type': 'application/vnd.contentful.management.v1+json',
  'X-Contentful-Topic': 'ContentManagement.Entry.publish',
  'X-Contentful-Idempotency-Key': crypto.createHash('sha256').update('delivery-1').digest('hex'),
}
const cfTs = 1764115200123
const cases = []
for (const path of ['/hooks/cms', '/hooks/cms?env=master&tag=a%2Fb', '/hooks/ünï [x]']) {
  const signed = signRequest(cfSecret, {method: 'POST', path, headers: cfHeaders, body: cfBody}, cfTs)
  const incoming = {method: 'POST', path, headers: {...cfHeaders, ...signed}, body: cfBody}
  if (!verifyRequest(cfSecret, incoming, 0)) throw new Error('contentful self-check')
  cases.push({path, headers: signed})
}
out.contentful = {secret: cfSecret, body: cfBody, headers: cfHeaders, timestampMs: cfTs, cases}

// Sanity
const saSecret = 'sanity-secret'
const saBody = JSON.stringify({_id: 'post-1', _type: 'post', _rev: 'abc', title: 'Héllo'})
const saTs = 1764115200456
const saHeader = await encodeSignatureHeader(saBody, saTs, saSecret)
if (!(await isValidSignature(saBody, saHeader, saSecret))) throw new Error('sanity self-check')
out.sanity = {secret: saSecret, body: saBody, timestampMs: saTs, header: saHeader}

// Stripe
const stripe = new Stripe('sk_test_x')
const stSecret = 'whsec_test_secret'
const stBody = JSON.stringify({id: 'evt_1', object: 'event', type: 'product.updated', data: {object: {id: 'prod_1', object: 'product'}}}, null, 2)
const stTs = 1764115200
const stHeader = stripe.webhooks.generateTestHeaderString({payload: stBody, secret: stSecret, timestamp: stTs})
stripe.webhooks.constructEvent(stBody, stHeader, stSecret, 1e12)
out.stripe = {secret: stSecret, body: stBody, timestamp: stTs, header: stHeader}

// Shopify: no official verifier library is installed; Node's crypto computes the documented HMAC.
const shSecret = 'shpss_test_secret'
const shBody = JSON.stringify({id: 788032119674292900, title: 'Example T-Shirt', updated_at: '2025-11-26T00:00:00-05:00'})
out.shopify = {secret: shSecret, body: shBody, hmac: crypto.createHmac('sha256', shSecret).update(shBody, 'utf8').digest('base64')}

const version = (p) => JSON.parse(fs.readFileSync(`node_modules/${p}/package.json`, 'utf8')).version
out._generator = {script: 'gen-vectors.mjs', node: process.version, packages: Object.fromEntries(
  ['@contentful/node-apps-toolkit', '@sanity/webhook', 'stripe'].map((p) => [p, version(p)]))}
console.log(JSON.stringify(out, null, 2))
