#!/usr/bin/perl
# icat-recordings.pl: turn an ICAT dump (python-icat's icatdump XML, e.g.
# icatdump-6.2.xml of the shared corpus) into the answers an ICAT server's
# REST API gives, as ps-replay exchange recordings: the anonymous login
# (POST /icat/session) and, for every page the "icat" harvester asks for,
# the JPQL query it sends (GET /icat/entityManager?sessionId&query) with
# the entities ICAT would return: ids given in the dump's order, INCLUDEd
# relations resolved from the dump's references, one-to-many relations
# only when INCLUDEd, modTime the dump's date. Perl core modules only (a
# small reader for the dump's regular XML; no XML module is needed).
#   icat-recordings.pl DUMP.xml OUT.json PAGE [--since 'yyyy-mm-dd hh:mm:ss']
#       [--newer DATASET_NAME] [--nameless DATASET_NAME] [--expire K]
# --newer gives that dataset a later modTime and a new description (an
# update for an incremental run), --nameless drops its name (a malformed
# record), --expire K answers the K-th query first with ICAT's SESSION
# error (403), as when the session expired.
# SPDX-License-Identifier: GPL-2.0-or-later
use strict;
use warnings;
use JSON::PP;

my ($dump, $out, $page, @opt) = @ARGV;
die "usage: $0 DUMP.xml OUT.json PAGE [options]\n" unless $page;
my %o;
while (@opt) {
    my $k = shift @opt;
    $k =~ s/^--//;
    $o{$k} = shift @opt;
}
my $SID = '8a9b7c6d-0000-4000-8000-pansift-test';
my $MODTIME = '2025-12-01T16:03:43.000Z';

# ---- read the XML dump into a tree --------------------------------------
open my $fh, '<:raw', $dump or die "$dump: $!\n";
my $xml = do { local $/; <$fh> };
close $fh;
sub unescape {
    my $s = shift;
    $s =~ s/&#(\d+);/chr($1)/ge;
    $s =~ s/&#x([0-9a-fA-F]+);/chr(hex $1)/ge;
    $s =~ s/&lt;/</g; $s =~ s/&gt;/>/g; $s =~ s/&quot;/"/g;
    $s =~ s/&apos;/'/g; $s =~ s/&amp;/&/g;
    return $s;
}
$xml = Encode_utf8_decode($xml);
sub Encode_utf8_decode { my $s = shift; utf8::decode($s); return $s; }
my @stack = ({tag => '#root', kids => []});
while ($xml =~ /\G(?:<\?[^>]*\?>|<!--.*?-->|<(\/?)([\w.:-]+)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|([^<]+))/gcs) {
    my ($close, $tag, $attrs, $empty, $text) = ($1, $2, $3, $4, $5);
    if (defined $text) {
        $stack[-1]{text} .= unescape($text);
        next;
    }
    next unless defined $tag;
    if ($close) { pop @stack; next; }
    my %a;
    $a{$1} = unescape($2) while ($attrs // '') =~ /([\w:-]+)="([^"]*)"/g;
    my $n = {tag => $tag, attrs => \%a, kids => []};
    push @{$stack[-1]{kids}}, $n;
    push @stack, $n unless $empty;
}
die "$dump: not read to its end\n" if pos($xml) && pos($xml) < length $xml;

# ---- entities -------------------------------------------------------------
my (%byref, %bytype, %ids);
for my $data (grep { $_->{tag} eq 'data' } map { @{$_->{kids}} } @{$stack[0]{kids}}) {
    for my $e (@{$data->{kids}}) {
        my $type = ucfirst $e->{tag};
        $e->{type} = $type;
        $e->{id} = ++$ids{$type};
        $byref{$e->{attrs}{id}} = $e if $e->{attrs}{id};
        push @{$bytype{$type}}, $e;
    }
}
my $nested = 100000; # ids of the rows inside an entity
my %numeric = map { $_ => 1 } qw(fileSize fileCount numericValue rangeBottom
    rangeTop error datafileCount);
my %boolean = map { $_ => 1 } qw(complete);
# one-to-many relations kept elsewhere in the dump: entity -> (type, ref)
my %reverse = ('Dataset.datafiles' => ['Datafile', 'dataset'],
    'DataPublication.users' => ['DataPublicationUser', 'publication']);

sub field { my ($n, $name) = @_; for (@{$n->{kids}}) { return $_ if $_->{tag} eq $name } undef }
sub text { my ($n, $name) = @_; my $f = field($n, $name); $f ? $f->{text} : undef }

# The JSON ICAT answers for node n (an entity or a row inside one) with
# the relations of inc ({name => sub-includes}).
sub render {
    my ($n, $inc, $type) = @_;
    my %obj;
    $obj{id} = $n->{id} // ++$nested;
    if ($n->{type}) {
        $obj{modTime} = $n->{modTime} // $MODTIME;
        $obj{createTime} = $MODTIME;
    }
    my %many;
    for my $k (@{$n->{kids}}) {
        my $name = $k->{tag};
        if (defined $k->{attrs}{ref}) {
            next unless $inc->{$name};
            my $t = $byref{$k->{attrs}{ref}} or next;
            $obj{$name} = render($t, $inc->{$name});
        } elsif (@{$k->{kids}}) {
            next unless $inc->{$name};
            push @{$many{$name}}, render($k, $inc->{$name});
        } else {
            my $v = $k->{text} // '';
            $obj{$name} = $numeric{$name} ? 0 + $v
                : $boolean{$name} ? ($v eq 'true' ? JSON::PP::true : JSON::PP::false)
                : $v;
        }
    }
    for my $name (sort keys %$inc) {
        my $r = $n->{type} && $reverse{"$n->{type}.$name"} or next;
        my ($t, $back) = @$r;
        $many{$name} = [map { render($_, $inc->{$name}) }
            grep { ($_->{attrs}{__back} //= (field($_, $back) // {attrs => {}})->{attrs}{ref} // '') eq $n->{attrs}{id} }
            @{$bytype{$t} // []}];
    }
    $obj{$_} = $many{$_} for sort keys %many;
    return \%obj;
}

# "x.a.b, x.c" -> {a => {b => {}}, c => {}}
sub includes {
    my %t;
    for my $p (split /,\s*/, shift) {
        my @parts = split /\./, $p;
        shift @parts;
        my $h = \%t;
        $h = $h->{$_} //= {} for @parts;
    }
    return \%t;
}

# ---- the harvester's changes to the dump ----------------------------------
for my $d (@{$bytype{Dataset}}) {
    my $name = text($d, 'name') // '';
    if (defined $o{newer} && $name eq $o{newer}) {
        $d->{modTime} = '2099-01-01T00:00:00.000Z';
        my $desc = field($d, 'description');
        if ($desc) { $desc->{text} = 'revised' }
        else { push @{$d->{kids}}, {tag => 'description', text => 'revised', attrs => {}, kids => []} }
    }
    if (defined $o{nameless} && $name eq $o{nameless}) {
        @{$d->{kids}} = grep { $_->{tag} ne 'name' } @{$d->{kids}};
    }
}

# ---- the pages --------------------------------------------------------------
my @phases = (
    ['Instrument', 'x.facility'],
    ['Investigation', 'x.facility, x.investigationUsers.user, '
        . 'x.investigationInstruments.instrument, x.keywords, x.parameters.type'],
    ['Dataset', 'x.investigation.facility, '
        . 'x.investigation.investigationInstruments.instrument, x.datafiles, '
        . 'x.sample, x.parameters.type, x.datasetInstruments.instrument, '
        . 'x.datasetTechniques.technique'],
    ['DataPublication', 'x.facility, x.users.affiliations, x.subjects, '
        . 'x.relatedItems, x.content.dataCollectionDatasets.dataset'],
);
sub uri { my $s = shift; utf8::encode($s); $s =~ s/([^A-Za-z0-9\-._~])/sprintf('%%%02X', ord $1)/ge; $s }
my $login = '{"plugin":"anon","credentials":[]}';
my @ex = ({method => 'POST', path => '/icat/session', request_body => 'json=' . uri($login),
    status => 200, body => {sessionId => $SID}});
my $nq = 0;
for my $ph (@phases) {
    my ($type, $incl) = @$ph;
    my $inc = includes($incl);
    my @all = @{$bytype{$type} // []};
    if (defined $o{since}) {
        (my $s = $o{since}) =~ s/ /T/;
        @all = grep { ($_->{modTime} // $MODTIME) gt $s } @all;
    }
    my $last = 0;
    while (1) {
        my @got = grep { $_->{id} > $last } @all;
        splice @got, $page if @got > $page;
        my $since = defined $o{since} ? " AND x.modTime > {ts $o{since}}" : '';
        my $q = "SELECT x FROM $type x WHERE x.id > $last$since ORDER BY x.id INCLUDE $incl LIMIT 0, $page";
        my $path = "/icat/entityManager?sessionId=" . uri($SID) . "&query=" . uri($q);
        $nq++;
        push @ex, {method => 'GET', path => $path, status => 403,
            body => {code => 'SESSION', message => "Unable to find user by sessionid: $SID"}}
            if defined $o{expire} && $nq == $o{expire};
        push @ex, {method => 'GET', path => $path, status => 200,
            body => [map { {$type => render($_, $inc)} } @got]};
        last if @got < $page;
        $last = $got[-1]{id};
    }
}
open my $oh, '>:raw', $out or die "$out: $!\n";
print $oh JSON::PP->new->utf8->canonical->pretty->encode(\@ex);
close $oh;
