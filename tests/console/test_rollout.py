"""A person builds an application in the console, deploys with a LINEAR strategy, watches the
rollout move as time passes, and stops it."""

from playwright.sync_api import expect

from local import clockctl


def _bar_fraction(page, scope):
    """How much of the progress bar is filled, as the eye sees it (0..1)."""
    return page.locator(scope).first.evaluate(
        'bar => bar.querySelector(".fill").getBoundingClientRect().width'
        ' / bar.getBoundingClientRect().width'
    )


def _create(page, summary, name):
    section = page.locator('details', has=page.locator('summary', has_text=summary))
    section.locator('summary').click()
    section.get_by_label('Name', exact=True).fill(name)
    section.get_by_role('button', name=summary).click()


def test_deploy_watch_and_stop(page):
    page.get_by_label('Name', exact=True).fill('shop')
    page.get_by_role('button', name='Create application').click()
    expect(page.get_by_role('heading', level=1)).to_contain_text('shop')

    _create(page, 'Create environment', 'prod')
    expect(page.get_by_role('heading', level=1)).to_contain_text('Environment prod')
    page.get_by_role('navigation', name='Breadcrumb').get_by_role('link', name='shop').click()
    _create(page, 'Create configuration profile', 'settings')
    expect(page.get_by_role('heading', level=1)).to_contain_text('settings')

    # JSON is checked as it is typed, and again before saving.
    content = page.get_by_label('Content', exact=True)
    page.get_by_label('Content type').fill('application/json')
    content.fill('{"greeting": "hello"')
    expect(page.locator('#f-content-check')).to_contain_text('Not valid JSON')
    expect(content).to_have_attribute('aria-invalid', 'true')
    page.get_by_role('button', name='Create version').click()
    expect(page.get_by_role('alert')).to_contain_text('Not valid JSON')
    page.get_by_label('Content', exact=True).fill('{"greeting": "hello"}')
    expect(page.locator('#f-content-check')).to_have_text('Valid JSON.')
    page.get_by_role('button', name='Create version').click()
    expect(page.get_by_role('heading', level=1)).to_have_text('settings: version 1')
    expect(page.locator('pre.content')).to_have_text('{"greeting": "hello"}')

    # Start deployment: predefined strategies first, with the step times each will take.
    page.get_by_role('link', name='Deploy this version').click()
    strategy = page.get_by_label('Deployment strategy')
    names = strategy.locator('option').all_inner_texts()
    assert names[0].startswith('AppConfig.AllAtOnce'), names
    strategy.select_option('AppConfig.Linear20PercentEvery6Minutes')
    preview = page.locator('#steps-preview')
    expect(preview).to_contain_text('+5 min')
    expect(preview.locator('tbody tr')).to_have_count(7)  # 5 steps, bake, complete
    expect(preview).to_contain_text('+1 h')  # 30 min growth + 30 min bake
    page.get_by_label('Description (optional)').fill('first rollout')
    page.get_by_role('button', name='Start deployment').click()

    expect(page.get_by_role('heading', level=1)).to_have_text('Deployment 1 to prod')
    live = page.locator('#live')
    expect(live.locator('.state').first).to_have_text('DEPLOYING')
    expect(page.locator('#percentage')).to_have_text('0%')
    expect(page.locator('#stop')).to_be_enabled()
    expect(page.locator('#revert')).to_be_disabled()
    page.evaluate('window.stillHere = true')

    # The manual clock is moved elsewhere (as POST /_appconfig/clock does): the page follows.
    clockctl.apply({'advance': '6m'})
    expect(page.locator('#percentage')).to_have_text('20%')
    # ... and from the console's own clock buttons, still without a reload.
    started = page.locator('#clock-now').get_attribute('datetime')
    page.get_by_role('button', name='Advance the clock 1 minute').click()
    expect(page.locator('#clock-now')).not_to_have_attribute('datetime', started)
    expect(page.locator('#percentage')).to_have_text('20%')
    page.get_by_role('button', name='Advance the clock 15 minutes').click()
    expect(page.locator('#percentage')).to_have_text('80%')  # 22 minutes in
    assert page.evaluate('window.stillHere') is True
    assert abs(_bar_fraction(page, '#live .bar') - 0.8) < 0.02
    rows = live.locator('table.events tbody tr')
    expect(rows.first).to_contain_text('Configuration available to 80.00% of clients')
    expect(rows.last).to_contain_text('DEPLOYMENT_STARTED')
    expect(rows).to_have_count(5)
    expect(live.locator('tr.step-next')).to_contain_text('100%')

    # Stopped from the keyboard: rolled back, and the event log names the user.
    page.locator('#stop').focus()
    page.keyboard.press('Enter')
    expect(live.locator('.state').first).to_have_text('ROLLED_BACK')
    first = rows.first
    expect(first).to_contain_text('ROLLBACK_COMPLETED')
    started = live.locator('table.events tbody tr', has_text='ROLLBACK_STARTED')
    expect(started.locator('td.trigger')).to_have_text('User')
    expect(page.locator('#why')).to_contain_text('Rollback started by account')
    expect(page.locator('#why')).to_contain_text('(triggered by User)')
    expect(page.locator('#stop')).to_be_disabled()
    expect(page.locator('#revert')).to_be_disabled()
    expect(live.locator('tr.step-not-reached')).to_have_count(3)  # 100%, bake, done

    # The environment list shows it too, and the page fits a phone's width.
    page.get_by_role('navigation', name='Breadcrumb').get_by_role('link', name='shop').click()
    expect(page.locator('#environments')).to_contain_text('ROLLED_BACK')
    expect(page.locator('#environments')).to_contain_text('RolledBack')
    page.set_viewport_size({'width': 390, 'height': 800})
    assert page.evaluate('document.documentElement.scrollWidth') <= 390
