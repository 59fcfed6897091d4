// Entitle dashboard: the only script. Pages work without it; it adds confirmation and copy buttons.
document.addEventListener('submit', (event) => {
  const form = event.target
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined
  if (question && !window.confirm(question)) event.preventDefault()
})

document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-copy]') : null
  if (!button) return
  const source = document.querySelector(button.dataset.copy)
  if (!source) return
  try {
    await navigator.clipboard.writeText(source.textContent ?? '')
    button.textContent = 'Copied'
  } catch {
    const range = document.createRange()
    range.selectNodeContents(source)
    const selection = window.getSelection()
    selection?.removeAllRanges()
    selection?.addRange(range)
    button.textContent = 'Selected: press Ctrl+C'
  }
})
