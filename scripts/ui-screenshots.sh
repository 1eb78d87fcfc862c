#!/usr/bin/env bash
# Refreshes the screenshots of docs/ui.md from a run of the browser tests (which save every page,
# light and dark, to .build/ui-screenshots): the tour shows what the tests saw.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test.sh --filter BrowserTests
shots=(sign-in-light dashboard-light dashboard-dark events-light event-editor-light schedule-builder-light run-light run-dark
  workflow-canvas-light workflow-run-light ledger-light server-add-light server-light tool-light variables-light images-light
  account-light phone-dashboard-light)
for shot in "${shots[@]}"; do cp ".build/ui-screenshots/$shot.png" docs/ui/; done
echo "updated ${#shots[@]} screenshots in docs/ui/"
