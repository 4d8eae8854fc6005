// GitHub sign-in with PocketBase's OAuth2 code exchange, in the same tab:
// the page sends the browser to GitHub with redirect_uri = the Contribute
// page (the one callback URL the GitHub OAuth app registers, see README),
// which on the way back exchanges the code (with the PKCE verifier kept in
// sessionStorage) for a PocketBase token, then returns to the page where
// the sign-in started.

import { pb, ApiError, fromSdkError } from './app.js';

const KEY = 'songcommons.oauth2';

export function signedIn() {
  return pb.authStore.isValid && pb.authStore.record?.collectionName === 'users';
}

// CALLBACK is where GitHub sends the browser back.
const CALLBACK = '/contribute.html';

function redirectURL() {
  return location.origin + CALLBACK;
}

// startSignIn sends the browser to GitHub's authorize page.
export async function startSignIn() {
  let methods;
  try {
    methods = await pb.collection('users').listAuthMethods();
  } catch (err) {
    throw fromSdkError(err);
  }
  const gh = (methods?.oauth2?.providers || []).find((p) => p.name === 'github');
  if (!methods?.oauth2?.enabled || !gh) {
    throw new ApiError(0, 'GitHub sign-in is not configured on this server, so signing in is not possible here.');
  }
  const redirect = redirectURL();
  sessionStorage.setItem(KEY, JSON.stringify({ state: gh.state, verifier: gh.codeVerifier, redirect, back: location.pathname }));
  location.assign(gh.authURL + encodeURIComponent(redirect));
}

// completeSignIn finishes a sign-in when the page was opened by GitHub's
// redirect (?code=…&state=…). It returns 'signed-in' when it signed in,
// 'leaving' when it signed in and is taking the browser back to the page
// where the sign-in started, '' when there was nothing to finish, and
// throws an ApiError when it failed.
export async function completeSignIn() {
  const q = new URLSearchParams(location.search);
  if (!q.has('code') && !q.has('error') && !q.has('state')) return '';
  const code = q.get('code');
  const state = q.get('state');
  const error = q.get('error');
  // the code must not stay in the address bar or the history
  for (const k of ['code', 'state', 'error', 'error_description', 'error_uri']) q.delete(k);
  history.replaceState(null, '', location.pathname + (q.toString() ? `?${q}` : ''));
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(KEY) || 'null'); } catch { /* none */ }
  sessionStorage.removeItem(KEY);
  if (error) {
    throw new ApiError(0, error === 'access_denied'
      ? 'The GitHub sign-in was cancelled. You can try again.'
      : `GitHub did not sign you in (${error}). You can try again.`);
  }
  if (!saved || !code || saved.state !== state) {
    throw new ApiError(0, 'The sign-in could not be verified (it was started in another tab or expired). Please sign in again.');
  }
  try {
    await pb.collection('users').authWithOAuth2Code('github', code, saved.verifier, saved.redirect);
  } catch (err) {
    throw fromSdkError(err);
  }
  if (saved.back && saved.back !== location.pathname && /^\/[a-z]+\.html$/.test(saved.back)) {
    location.replace(saved.back);
    return 'leaving';
  }
  return 'signed-in';
}

export function signOut() {
  pb.authStore.clear();
}
