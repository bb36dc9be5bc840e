# Provision a private Redmine 5 instance for spbe's tests. lab/redmine.py loads it from the instance's
# config.ru, after Rails has booted and before the server listens: one Ruby boot serves both, and a server
# that answers is a provisioned one. It runs the same way as a runner:
#   SPBE_REDMINE_SPEC=spec.json runuser -u www-data -- bin/rails runner lab/redmine_provision.rb
# The spec is written by lab/redmine_spec.py (`provision_spec`), which owns every name and value; this script
# only applies it, in one transaction. Idempotent: a second run finds what the first created and answers
# the same ids and keys.
# Why Ruby and not REST: custom fields, roles, statuses and workflows cannot be created over Redmine's REST
# API (403 even for an admin), and one script in a booted Rails is ~1 s of CPU where ~40 REST calls are
# ~40 requests.
# The answer (ids and API keys, which are secrets) goes to $SPBE_REDMINE_ANSWER (mode 0600), or to stdout
# as one line after MARKER.
require 'json'

MARKER = 'SPBE-REDMINE-PROVISION '
spec = JSON.parse(File.read(ENV.fetch('SPBE_REDMINE_SPEC')))
booted_cpu = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
known_permissions = Redmine::AccessControl.permissions.map(&:name)

# Where this instance really lives: the caller checks both against the state directory it prepared.
result = { 'root' => Redmine.root.realpath.to_s, 'database' => ActiveRecord::Base.connection_db_config.database }
ActiveRecord::Base.transaction do
  spec.fetch('settings').each { |name, value| Setting[name] = value }

  admin = User.find_by!(login: 'admin')
  admin.password = admin.password_confirmation = spec.fetch('admin_password')
  admin.must_change_passwd = false
  admin.save!
  result['admin'] = { 'id' => admin.id, 'api_key' => admin.api_key }

  statuses = {}
  spec.fetch('statuses').each do |s|
    status = IssueStatus.find_or_initialize_by(name: s.fetch('name'))
    status.is_closed = s.fetch('closed')
    status.save!
    statuses[status.name] = status
  end
  result['statuses'] = statuses.transform_values(&:id)

  trackers = Tracker.sorted.to_a
  result['trackers'] = trackers.to_h { |t| [t.name, t.id] }

  roles = {}
  spec.fetch('roles').each do |r|
    perms = r.fetch('permissions') == 'all' ? known_permissions : r.fetch('permissions').map(&:to_sym)
    unknown = perms - known_permissions
    raise "unknown Redmine permissions for #{r['name']}: #{unknown.inspect}" if unknown.any?
    role = Role.find_or_initialize_by(name: r.fetch('name'))
    role.permissions = perms
    role.issues_visibility = r.fetch('issues_visibility')
    role.assignable = r.fetch('assignable')
    role.save!
    roles[role.name] = role
    WorkflowTransition.where(role_id: role.id).delete_all
    r.fetch('transitions').each do |from, to|
      trackers.each do |tracker|
        WorkflowTransition.create!(role_id: role.id, tracker_id: tracker.id,
                                   old_status_id: statuses.fetch(from).id, new_status_id: statuses.fetch(to).id)
      end
    end
  end
  result['roles'] = roles.transform_values(&:id)

  p = spec.fetch('project')
  project = Project.find_or_initialize_by(identifier: p.fetch('identifier'))
  project.name = p.fetch('name')
  project.is_public = false
  project.trackers = trackers
  project.enabled_module_names = p.fetch('modules')
  project.save!
  result['project'] = { 'id' => project.id, 'identifier' => project.identifier }

  fields = {}
  spec.fetch('custom_fields').each do |f|
    field = IssueCustomField.find_or_initialize_by(name: f.fetch('name'))
    field.field_format = f.fetch('format')
    field.possible_values = f.fetch('values') if f['values']
    field.multiple = f.fetch('multiple', false)
    field.is_required = f.fetch('required')
    field.is_for_all = false
    field.visible = true
    field.editable = true
    field.is_filter = true
    field.trackers = trackers
    field.projects = [project]
    field.save!
    fields[field.name] = field.id
  end
  result['custom_fields'] = fields

  users = {}
  spec.fetch('users').each do |u|
    user = User.find_or_initialize_by(login: u.fetch('login'))
    user.firstname = u.fetch('firstname')
    user.lastname = u.fetch('lastname')
    user.mail = u.fetch('mail')
    user.password = user.password_confirmation = u.fetch('password')
    user.must_change_passwd = false
    user.status = User::STATUS_ACTIVE
    user.save!
    member = Member.find_or_initialize_by(project_id: project.id, user_id: user.id)
    member.role_ids = u.fetch('roles').map { |name| roles.fetch(name).id }
    member.save!
    users[user.login] = { 'id' => user.id, 'api_key' => user.api_key }
  end
  result['users'] = users
end

result['cpu'] = { 'boot' => booted_cpu,
                  'provision' => Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) - booted_cpu }
answer = ENV['SPBE_REDMINE_ANSWER']
if answer
  File.open(answer + '.part', File::WRONLY | File::CREAT | File::TRUNC, 0o600) { |f| f.write(JSON.generate(result)) }
  File.rename(answer + '.part', answer)
else
  $stdout.puts(MARKER + JSON.generate(result))
end
