<powershell>
# User data of one ephemeral, single-use GitHub Actions runner on Windows
# Server 2022 (x64), run by EC2Launch v2 as LocalSystem. A Terraform
# templatefile(): the variables are listed in modules/runners/user-data.ts
# (WINDOWS_USER_DATA_TEMPLATE_VARIABLES), each assigned once below. No dollar-
# brace and no percent-brace may appear in this file (template syntax).
# Sent as is: EC2Launch v2 does not gunzip user data, and EC2 takes 16 KB.
#
# Flow (every failure ends in the finally block: shut down, and the launch
# template's instance_initiated_shutdown_behavior=terminate terminates):
#   1. instance id and region from IMDSv2; optionally the CloudWatch agent
#   2. the runner zip from the syncer's bucket, the GitHub release as fallback
#      (or the runner prebaked in C:\actions-runner)
#   3. a local user 'runner', not an administrator, with a random password
#      that is never written down
#   4. read <ssm_config_path>/<instance-id> (scale-up writes it), delete it,
#      and hand it to the runner in a file only 'runner' and SYSTEM can read
#   5. run the runner once, as 'runner', through a scheduled task; its start
#      script reads and deletes that file and passes the JIT config through
#      ACTIONS_RUNNER_INPUT_JITCONFIG, not argv
#   6. shut down when it exits, whatever its status
# Secrets: the SSM value is never printed; no Start-Transcript.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Prefix = '${prefix}'
$SsmConfigPath = '${ssm_config_path}'
$RunnerVersion = '${runner_version}'
$RunnerS3Location = '${runner_binaries_s3_location}'
$PrebakedAmi = '${enable_prebaked_ami}'
$CloudWatchAgent = '${enable_cloudwatch_agent}'
$LogGroup = '${cloudwatch_log_group}'
$PollAttempts = [int]'${config_poll_attempts}'
$PollIntervalSeconds = [int]'${config_poll_interval_seconds}'
$GhesSslVerify = '${ghes_ssl_verify}'
$RunnerType = '${runner_type}'
$MetricsNamespace = '${metrics_namespace}'
$BootMetricName = '${boot_metric_name}'

$RunnerDir = 'C:\actions-runner'
$StateDir = 'C:\ProgramData\github-runner'
$LogFile = "$StateDir\user-data.log"
$MetricsLog = "$StateDir\boot-metrics.log"
$RunnerUser = 'runner'
$TaskName = 'github-runner'
$Imds = 'http://169.254.169.254/latest'
# A job runs for at most 5 days on a self-hosted runner (GitHub Actions limits).
$MaxRunnerSeconds = 6 * 24 * 3600
$Started = Get-Date

New-Item -ItemType Directory -Force -Path $StateDir | Out-Null

function Log([string]$Message) {
  $line = '{0} {1} user-data: {2}' -f (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ'), $Prefix, $Message
  Add-Content -Path $LogFile -Value $line
  Write-Host $line
}

function NowMs { [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds() }

# One CloudWatch embedded-metric-format line per boot step (best effort).
function BootStep([string]$Step, [datetime]$Since) {
  try {
    $seconds = [math]::Round(((Get-Date) - $Since).TotalSeconds, 3).ToString([Globalization.CultureInfo]::InvariantCulture)
    $line = '{{"_aws":{{"Timestamp":{0},"CloudWatchMetrics":[{{"Namespace":"{1}","Dimensions":[["RunnerType","Step"]],"Metrics":[{{"Name":"{2}","Unit":"Seconds"}}]}}]}},"RunnerType":"{3}","Step":"{4}","{2}":{5}}}' -f (NowMs), $MetricsNamespace, $BootMetricName, $RunnerType, $Step, $seconds
    Add-Content -Path $MetricsLog -Value $line
  } catch { }
}

function Test-Inputs {
  $errors = @()
  if ($SsmConfigPath -notmatch '^/[A-Za-z0-9_./-]+$') { $errors += "ssm_config_path must be an SSM path, got '$SsmConfigPath'" }
  if ($RunnerVersion -notmatch '^\d+\.\d+\.\d+$') { $errors += "runner_version must look like 2.329.0, got '$RunnerVersion'" }
  if ($RunnerS3Location -ne '' -and $RunnerS3Location -notmatch '^s3://[a-z0-9.-]+/.+\.zip$') { $errors += "runner_binaries_s3_location must be empty or s3://bucket/key.zip, got '$RunnerS3Location'" }
  foreach ($flag in @(@('enable_prebaked_ami', $PrebakedAmi), @('enable_cloudwatch_agent', $CloudWatchAgent), @('ghes_ssl_verify', $GhesSslVerify))) {
    if (-not ($flag[1] -ceq 'true' -or $flag[1] -ceq 'false')) { $errors += "$($flag[0]) must be true or false, got '$($flag[1])'" }
  }
  if ($PollAttempts -lt 1 -or $PollIntervalSeconds -lt 0) { $errors += 'config_poll_attempts must be at least 1 and config_poll_interval_seconds at least 0' }
  if ($errors.Count -gt 0) { throw ('invalid input: ' + ($errors -join '; ')) }
}

function Get-Imds([string]$Path, [string]$Token) {
  Invoke-RestMethod -UseBasicParsing -TimeoutSec 5 -Headers @{ 'X-aws-ec2-metadata-token' = $Token } -Uri "$Imds/meta-data/$Path"
}

function Start-CloudWatchAgent([string]$InstanceId) {
  $ctl = 'C:\Program Files\Amazon\AmazonCloudWatchAgent\amazon-cloudwatch-agent-ctl.ps1'
  if (-not (Test-Path $ctl)) {
    Log 'installing amazon-cloudwatch-agent'
    # The package the CloudWatch user guide names for Windows Server ("Download and install the CloudWatch agent using the command line").
    $msi = "$env:TEMP\amazon-cloudwatch-agent.msi"
    Invoke-WebRequest -UseBasicParsing -Uri 'https://amazoncloudwatch-agent.s3.amazonaws.com/windows/amd64/latest/amazon-cloudwatch-agent.msi' -OutFile $msi
    Start-Process msiexec.exe -ArgumentList @('/i', $msi, '/qn') -Wait
  }
  $files = @(@($LogFile, 'user-data'), @($MetricsLog, 'boot-metrics'), @("$RunnerDir\_diag\Runner_*.log", 'runner'), @("$RunnerDir\_diag\Worker_*.log", 'worker'))
  $list = @($files | ForEach-Object { @{ file_path = $_[0]; log_group_name = $LogGroup; log_stream_name = "$InstanceId/$($_[1])" } })
  $config = @{ logs = @{ force_flush_interval = 5; logs_collected = @{ files = @{ collect_list = $list } } } }
  $path = "$StateDir\cloudwatch-agent.json"
  $config | ConvertTo-Json -Depth 8 | Set-Content -Path $path -Encoding ASCII
  & $ctl -a fetch-config -m ec2 -s -c "file:$path"
  Log "CloudWatch agent shipping logs to $LogGroup"
}

function Install-Runner([string]$Region) {
  if ($PrebakedAmi -eq 'true') {
    if (-not (Test-Path "$RunnerDir\run.cmd")) { throw "prebaked AMI expected, but $RunnerDir\run.cmd is missing" }
    Log "using the runner prebaked in $RunnerDir"
    return
  }
  $zip = "$env:TEMP\actions-runner.zip"
  $fromS3 = $false
  if ($RunnerS3Location -ne '') {
    $bucket, $key = $RunnerS3Location.Substring(5).Split('/', 2)
    Log "downloading the runner from $RunnerS3Location"
    # The syncer fills the bucket; until its first run the GitHub release is the fallback.
    try {
      Read-S3Object -BucketName $bucket -Key $key -File $zip -Region $Region | Out-Null
      $fromS3 = $true
    } catch {
      Log 'the runner is not in S3 yet; falling back to the GitHub release'
    }
  }
  if (-not $fromS3) {
    $url = "https://github.com/actions/runner/releases/download/v$RunnerVersion/actions-runner-win-x64-$RunnerVersion.zip"
    Log "downloading $url"
    Invoke-WebRequest -UseBasicParsing -TimeoutSec 600 -Uri $url -OutFile $zip
  }
  Add-Type -AssemblyName System.IO.Compression.FileSystem
  New-Item -ItemType Directory -Force -Path $RunnerDir | Out-Null
  [System.IO.Compression.ZipFile]::ExtractToDirectory($zip, $RunnerDir)
  Remove-Item -Force $zip
  Log "runner extracted into $RunnerDir"
}

# A random password, used once to register the task; never logged or stored.
function New-RunnerPassword {
  $bytes = New-Object byte[] 24
  [Security.Cryptography.RandomNumberGenerator]::Create().GetBytes($bytes)
  'Aa1!' + [Convert]::ToBase64String($bytes)
}

# Runs as 'runner'. Reads the config file, deletes it, and starts the runner once.
$StartScript = @'
param([string]$ConfigFile, [string]$DefaultName, [string]$TlsNoVerify)
$ErrorActionPreference = 'Stop'
$config = Get-Content -Raw -Path $ConfigFile | ConvertFrom-Json
Remove-Item -Force -Path $ConfigFile
if ($TlsNoVerify -eq 'true') { $env:GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY = '1' }
Set-Location $PSScriptRoot
if ($config.mode -eq 'jit') {
  if (-not $config.jit_config) { exit 3 }
  $env:ACTIONS_RUNNER_INPUT_JITCONFIG = $config.jit_config
} elseif ($config.mode -eq 'token') {
  if (-not $config.token -or $config.url -notmatch '^https://\S+$') { exit 3 }
  $name = if ($config.name) { $config.name } else { $DefaultName }
  $argv = @('--unattended', '--ephemeral', '--disableupdate', '--url', $config.url, '--name', $name)
  if ($config.labels) { $argv += @('--labels', $config.labels) }
  if ($config.runner_group) { $argv += @('--runnergroup', $config.runner_group) }
  $env:ACTIONS_RUNNER_INPUT_TOKEN = $config.token
  & .\config.cmd @argv
  $env:ACTIONS_RUNNER_INPUT_TOKEN = ''
  if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
} else { exit 3 }
$config = $null
& .\run.cmd
exit $LASTEXITCODE
'@

function Invoke-Runner([string]$Config, [string]$InstanceId) {
  $password = New-RunnerPassword
  if (-not (Get-LocalUser -Name $RunnerUser -ErrorAction SilentlyContinue)) {
    Log "creating the local user $RunnerUser (not an administrator)"
    New-LocalUser -Name $RunnerUser -Password (ConvertTo-SecureString $password -AsPlainText -Force) -PasswordNeverExpires -AccountNeverExpires | Out-Null
  } else {
    Set-LocalUser -Name $RunnerUser -Password (ConvertTo-SecureString $password -AsPlainText -Force)
  }
  # A task that runs with stored credentials needs the batch logon right, which
  # Windows Server gives this built-in group, not Users (Microsoft, security policy
  # settings, "Log on as a batch job": default values); it confers no admin rights.
  Add-LocalGroupMember -Group 'Performance Log Users' -Member $RunnerUser -ErrorAction SilentlyContinue
  Set-Content -Path "$RunnerDir\start-runner.ps1" -Value $StartScript -Encoding ASCII
  & icacls.exe $RunnerDir /grant "$($RunnerUser):(OI)(CI)M" /T /Q | Out-Null
  # Only SYSTEM and 'runner' may read the config: no inherited rights.
  $file = "$StateDir\runner-config.json"
  New-Item -ItemType File -Force -Path $file | Out-Null
  & icacls.exe $file /inheritance:r /grant:r 'SYSTEM:F' "$($RunnerUser):M" /Q | Out-Null
  Set-Content -Path $file -Value $Config -Encoding ASCII -NoNewline

  $arguments = "-NoProfile -ExecutionPolicy Bypass -File `"$RunnerDir\start-runner.ps1`" -ConfigFile `"$file`" -DefaultName `"$Prefix-$InstanceId`" -TlsNoVerify $(if ($GhesSslVerify -eq 'false') { 'true' } else { 'false' })"
  $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $arguments -WorkingDirectory $RunnerDir
  $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -AllowStartIfOnBatteries
  Register-ScheduledTask -TaskName $TaskName -Action $action -Settings $settings -User $RunnerUser -Password $password -RunLevel Limited -Force | Out-Null
  $password = $null
  if ($GhesSslVerify -eq 'false') { Log 'WARNING: ghes_ssl_verify is false: the runner does not verify the GitHub server certificate' }
  Log "starting the runner as $RunnerUser"
  BootStep 'user_data' $Started
  Start-ScheduledTask -TaskName $TaskName
  $deadline = (Get-Date).AddSeconds($MaxRunnerSeconds)
  do {
    Start-Sleep -Seconds 10
    $state = (Get-ScheduledTask -TaskName $TaskName).State
  } while ($state -eq 'Running' -and (Get-Date) -lt $deadline)
  Log ('runner exited with status {0}' -f (Get-ScheduledTaskInfo -TaskName $TaskName).LastTaskResult)
}

try {
  Log 'starting'
  Test-Inputs
  $t = Get-Date
  $token = Invoke-RestMethod -UseBasicParsing -TimeoutSec 5 -Method Put -Headers @{ 'X-aws-ec2-metadata-token-ttl-seconds' = '300' } -Uri "$Imds/api/token"
  $instanceId = Get-Imds 'instance-id' $token
  $region = Get-Imds 'placement/region' $token
  if ($instanceId -notmatch '^i-[0-9a-f]+$' -or $region -notmatch '^[a-z0-9-]+$') { throw 'unexpected instance identity from IMDS' }
  $parameter = $SsmConfigPath.TrimEnd('/') + '/' + $instanceId
  Log "instance $instanceId in $region"
  BootStep 'imds' $t
  if ($CloudWatchAgent -eq 'true') {
    try { Start-CloudWatchAgent $instanceId } catch { Log 'WARNING: could not start the CloudWatch agent; continuing without it' }
  }

  $t = Get-Date
  Install-Runner $region
  BootStep 'install' $t

  $t = Get-Date
  $config = $null
  for ($attempt = 1; $attempt -le $PollAttempts; $attempt++) {
    try {
      $config = (Get-SSMParameter -Name $parameter -WithDecryption $true -Region $region).Value
      break
    } catch {
      Log "runner config not readable yet (attempt $attempt/$PollAttempts)"
      Start-Sleep -Seconds $PollIntervalSeconds
    }
  }
  if (-not $config) { throw "no runner config at $parameter after $PollAttempts attempts" }
  Log 'runner config found'
  BootStep 'config_wait' $t

  # Delete it before anything uses it; if that fails, do not start the runner.
  $t = Get-Date
  $deleted = $false
  for ($attempt = 1; $attempt -le 3 -and -not $deleted; $attempt++) {
    try {
      Remove-SSMParameter -Name $parameter -Region $region -Force
      $deleted = $true
    } catch {
      Log "could not delete $parameter (attempt $attempt/3)"
      Start-Sleep -Seconds 2
    }
  }
  if (-not $deleted) { throw "could not delete $parameter; not starting the runner" }
  Log 'runner config deleted from SSM'
  BootStep 'config_delete' $t

  Invoke-Runner $config $instanceId
  $config = $null
} catch {
  Log "ERROR: $($_.Exception.Message)"
} finally {
  Log 'shutting down (the instance terminates)'
  if ($CloudWatchAgent -eq 'true') { Start-Sleep -Seconds 10 }
  & shutdown.exe /s /t 0 /f
}
</powershell>
